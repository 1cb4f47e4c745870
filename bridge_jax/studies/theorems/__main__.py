"""`python -m bridge_jax.studies.theorems`."""

from bridge_jax.studies.theorems.run import main

raise SystemExit(main())
