"""Engagement tracking: signed per-message tokens (`tokens`), the campaign's links wrapped at
render time (`links`), the verdict on each hit (`verdicts`), hits as they travel from the web
to the worker (`hits`) and their writing in batches (`store`). No Flask, Celery or redis."""
