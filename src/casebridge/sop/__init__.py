"""The SOP's language, on the foundation floor: the event vocabulary (``events``) and the
engine that checks protocols and evaluates events (``engine``). Pure: no model, no app —
the model file's schema, the access kernel, the SOP pages and training all use it."""
