"""Routes of the sample app: 3 async handlers, 2 sync ones (one registered with add_url_rule)."""

from fastapi import APIRouter, status

router = APIRouter(prefix="/items", tags=["items"])

_NOT_FOUND = {
    status.HTTP_404_NOT_FOUND: {"description": "Item not found"},
}


@router.get("")
async def list_items():
    return []


@router.get(
    "/{item_id}",
    summary="Read an item",
    responses=_NOT_FOUND,
)
async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@router.api_route("/{item_id}", methods=["PUT"])
async def replace_item(item_id: int):
    return item_id


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id):
    return None


def legacy_view():
    return "legacy"


def not_a_route():
    return None


router.add_url_rule("/legacy", "legacy", legacy_view)
