"""Which thread and message ids the chat history accepts.

Ids Chainlit makes are UUIDs. Chainlit's SQLAlchemy layer writes thread ids into the text of some of its queries, so
only an id of these characters ever gets a row in the history; anything else a client sends is refused.
"""

from __future__ import annotations

import re

SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
