"""`python -m bridge_jax.studies.methods`."""

from bridge_jax.studies.methods.run import main

raise SystemExit(main())
