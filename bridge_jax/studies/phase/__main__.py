"""`python -m bridge_jax.studies.phase`."""

from bridge_jax.studies.phase.run import main

raise SystemExit(main())
