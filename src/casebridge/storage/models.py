from django.db import models


class DocumentPiece(models.Model):
    """One piece of a stored document in the cbdoc v1 format (``crypto.files``).

    Piece 0 is the header, piece i (1..n) the sealed segment i-1: 64 KiB of ciphertext and
    its 16-byte tag, the last one shorter. Put end to end in order, the pieces of a name are
    byte for byte the file ``EncryptedFileStorage`` writes for it. Nothing here is in clear:
    the name is random (``entries/2026/01/<random>``), the uploaded name lives encrypted in
    the row that points here.
    """

    name = models.CharField(max_length=255)
    piece = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "piece"], name="storage_piece_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.piece}"
