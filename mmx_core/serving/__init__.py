"""Serving the app to many people: nginx in front of several Streamlit workers, signing visitors in first.

- :mod:`~mmx_core.serving.edge_auth`: the sign-in service nginx's ``auth_request`` asks (signed cookie,
  per-address attempt limit);
- :mod:`~mmx_core.serving.nginx`: the nginx configuration, rendered from ``nginx.conf.template``;
- :mod:`~mmx_core.serving.workers`: starting, health-checking and stopping ``streamlit run`` workers;
- :mod:`~mmx_core.serving.serve`: the whole stack (``python -m mmx_core serve``, :func:`served` for tests).

Nothing here imports streamlit; the workers are separate processes.
"""
