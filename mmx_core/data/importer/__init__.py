"""The importer of MMX-Trailer-20 features from the authors' folder layout (``import-mmx``).

The authors' extraction code keeps features as::

    <root>/<genre>/<trailer>/<scene>/<clip>/<expert>/*.pt
    <root>/<genre>/<trailer>/<scene>/meta.pkl

with ``<expert>`` one of ``img-embeddings`` (image), ``location-embeddings``
(scene), ``video-embeddings`` or ``motion-embeddings`` (motion) and
``audio-embeddings`` (audio), optionally ``test-``-prefixed for test-time
sampling. A trailer with several genres appears under several genre folders;
it becomes one trailer here.

Safety: tensors are read with ``torch.load(weights_only=True)``; ``meta.pkl``
is read by :class:`MetaUnpickler`, whose ``find_class`` refuses every global,
so only the pickle opcodes for built-in containers, strings and numbers work
and nothing in the file can run code.

Problems in single files (unreadable or refused tensor, wrong dim, empty clip
folder, unreadable ``meta.pkl``, genre folders that disagree) do not stop the
import: they are reported (``import_report.json`` in the data set and the
command's output) and the affected expert / clip / trailer is left out, a
missing expert being stored as missing. The import commits every few seconds
and can be interrupted and restarted without redoing finished trailers.

One writer per destination: the import holds the writer lock of its staging
folder (:func:`mmx_core.base.output_writer.output_lock`) from start to rename, so a
second import into the same ``out`` is refused at once, naming the holder, and
touches nothing. Control characters in the problems (file names, messages) are
escaped when they are recorded (:class:`~mmx_core.data.importer.tree.ImportProblems`).

:mod:`~mmx_core.data.importer.convert` holds the import loop; the tree is read by
:mod:`~mmx_core.data.importer.tree`, ``meta.pkl`` by :mod:`~mmx_core.data.importer.meta` and the tensors by
:mod:`~mmx_core.data.importer.tensors`.
"""

from mmx_core.data.importer.convert import ImportResult, import_mmx
from mmx_core.data.importer.meta import parse_meta, read_meta

__all__ = ["import_mmx", "ImportResult", "read_meta", "parse_meta"]
