"""``synthloom serve``: the generator workflow as a web application and a REST API.

Needs the ``serve`` extra (``pip install synthloom[serve]``: FastAPI, uvicorn,
python-multipart, httpx).

```python
from synthloom.serve import create_app
app = create_app("synthloom-data", token=None, workers=1)   # an ASGI app for uvicorn
```
"""

from synthloom.serve.app import create_app

__all__ = ["create_app"]
