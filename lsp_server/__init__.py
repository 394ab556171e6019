"""symscope: a local index of every symbol in a workspace, served over LSP and MCP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("symscope")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
