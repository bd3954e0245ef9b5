"""The loyalty engine depends on nothing built on it: vouchers import loyalty, never back."""

import ast
from pathlib import Path

import stampcard.loyalty

BUILT_ON_LOYALTY = ("stampcard.vouchers",)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at its top or lazily inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_loyalty_module_imports_vouchers():
    package = Path(stampcard.loyalty.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 10
    offending = {
        str(path.relative_to(package)): sorted(
            name for name in imports_of(path) if name.startswith(BUILT_ON_LOYALTY)
        )
        for path in modules
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_no_loyalty_model_points_at_a_vouchers_model():
    from django.apps import apps

    for model in apps.get_app_config("loyalty").get_models():
        for field in model._meta.get_fields(include_hidden=True):
            if field.is_relation and field.concrete:
                assert field.related_model._meta.app_label != "vouchers", (model, field.name)
