"""`python -m bridge_jax.studies.imaging`."""

from bridge_jax.studies.imaging.run import main

raise SystemExit(main())
