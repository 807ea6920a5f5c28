"""MMX Explorer core library: data, model, exploration. Never imports streamlit."""

from mmx_core.base.errors import MMXError

__version__ = "0.1.0"
__all__ = ["MMXError", "__version__"]
