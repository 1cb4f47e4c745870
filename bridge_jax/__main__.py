"""`python -m bridge_jax COMMAND ...`: the same as the `bridge-jax` command."""

from bridge_jax._cli import main

raise SystemExit(main())
