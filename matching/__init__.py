"""Challenge Portal domain: everything the pages do, with no Streamlit import.

Pages and the CLI call the services in these modules; each write service checks the actor's
permission (:mod:`matching.permissions`) and records an audit event in the same transaction.
"""
from pathlib import Path

__version__ = "0.1.0"

#: The repository's ``data/`` folder: bundled demo CSVs and the default database.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
