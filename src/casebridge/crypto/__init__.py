"""Encryption at rest (DESIGN.md invariant 6), on the foundation floor: the key ring and
blind indexes (``keys``), encrypted model fields (``fields``) and the encrypting file
storage (``files``). Models use them; nothing here knows of subject requests or
retention, which live in ``privacy`` above the features."""
