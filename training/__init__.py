"""symscope's embedding-model training pipeline: fetch -> mine -> train -> export (see README.md).

Owns nothing the server imports: `lsp_server` never imports `training`, and only `training.train`
and `training.export` need the `train` dependency group (jax).
"""
