"""The inventory: which tenant owns an address.

Only the static, file-backed inventory exists so far (``static.Inventory``); learned and AWS
inventories will present the same ``tenant_of(address) -> TenantId | None`` look-up.
"""

from jobber.inventory.static import Inventory

__all__ = ["Inventory"]
