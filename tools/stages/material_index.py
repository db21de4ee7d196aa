"""The index of a material set's document passages in Chroma, which ranks what feeds each subtask."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memory.material import MaterialIndex
    from memory.store import SampleStore
    from tools.sources import MaterialView


def material_index(view: MaterialView, store: SampleStore) -> MaterialIndex | None:
    """The documents' passages of `view` in a Chroma collection of their own (the memory's client and embedder),
    embedded the first time only; None when the material has no document. Blocking: call it off the event loop."""
    from memory.material import MaterialIndex

    chunks = view.units("document")
    if not chunks:
        return None
    index = MaterialIndex(store, store.embedder, str(view.folder.resolve()))
    index.add([(unit, view.text(unit), {"anchor": view.anchor(unit)}) for unit in chunks])
    return index
