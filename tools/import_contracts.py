"""A contract for import-linter: no module imports another package's private (``_``-prefixed) module.

``service.cards.bone_drugs -> service.cards._phrases`` is fine (the private module's own package);
``service.cards.screening -> service.rules._registry`` is not: a package's ``_`` modules are its own
business, and what others may use it exports from a public module.
"""

from __future__ import annotations

from importlinter import Contract, ContractCheck, fields, output


def _private_parent(module: str) -> str | None:
    """The package that owns the first private component of ``module``, or None if all are public."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


class PrivateModulesContract(Contract):
    """Modules under ``containers`` import another package's private modules from nowhere."""

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:  # type: ignore[no-untyped-def]
        roots = tuple(str(c) for c in self.containers)  # type: ignore[attr-defined]
        broken: list[tuple[str, str, list[int]]] = []
        for importer in sorted(graph.modules):
            if not importer.startswith(roots):
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                owner = _private_parent(imported)
                if owner is None or importer == owner or importer.startswith(owner + "."):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                broken.append((importer, imported, [d["line_number"] for d in details]))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(f"{importer} imports the private module {imported} ({where})")
            output.new_line()
