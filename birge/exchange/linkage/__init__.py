"""Record linkage across registers: exact on a consistent PIN, else Fellegi-Sunter on folded names.

Independent of Django models: records in, scored pairs out. See
docs/linkage.md for the method and the measurements behind it.
"""

from .cli import link_files
from .engine import LinkConfig, LinkInputError, LinkResult, PairScore, link
from .io import LinkFileError, RegisterFile, read_register, write_pairs
from .model import Model
from .records import FIELDS, prepare, prepare_mapping

__all__ = [
    "FIELDS", "LinkConfig", "LinkFileError", "LinkInputError", "LinkResult", "Model", "PairScore", "RegisterFile",
    "link", "link_files", "prepare", "prepare_mapping", "read_register", "write_pairs",
]
