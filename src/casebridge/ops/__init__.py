"""Operations, the top floor: the ``casebridge`` command (``cli``), loading a cooperation
model into every app (``model_load``), demo data and the synthetic volume (``demo``,
``volume``), backup and restore (``backup``), and the commands that run them (demo,
serve, generate, backup, restore, model, worker). Nothing below imports it."""
