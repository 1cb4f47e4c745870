"""The paper's studies, built on the public `bridge_jax` API.

One module per figure or study (`fig1_spectrum` ... `fig5_taxonomy`, `reproduce`, `learn`,
`methods`, `phase`, `sweep`); each docstring states the question it answers and the definitions
it uses. Each runs from the `bridge-jax` command line (`bridge-jax reproduce`, `bridge-jax learn`,
...) and from the scripts in the repository's `experiments/` folder.

Nothing is imported here, so that `bridge-jax --help` stays fast: import the study you need,
e.g. `from bridge_jax.studies import fig2_masking`.
"""
