"""Which rows point at a record, read from the foreign keys: the tables a merge must move.

A list of tables kept by hand (or filled by each domain when its module happens to be imported)
forgets the table nobody registered — program participations were lost in merges that way. The
foreign keys in the metadata are the schema itself, so a table that references a record is moved
by construction, the way Indico moves every reference of a merged user. A referencing row that
would then break a unique key (the survivor already takes part in that program, carries that tag,
belongs to that network) is the same fact twice: the survivor's row is kept, the other dropped.
"""
from __future__ import annotations

from sqlalchemy import Column, Table, and_, delete, exists, select, update

from crm.extensions import db


def referencing_columns(table: Table) -> list[Column]:
    """Every column of the metadata with a foreign key to `table`'s primary key, in table order."""
    columns = []
    for other in db.metadata.sorted_tables:
        for key in other.foreign_keys:
            if key.column.table is table and key.column.primary_key:
                columns.append(key.parent)
    return columns


def _unique_keys(column: Column) -> list[list[Column]]:
    """The table's unique keys (primary key included) that hold `column`, each as its other columns."""
    table = column.table
    keys = [constraint.columns for constraint in table.constraints
            if constraint.__visit_name__ in ("primary_key_constraint", "unique_constraint")]
    keys += [index.columns for index in table.indexes if index.unique]
    return [[other for other in key if other is not column] for key in keys if column in list(key)]


def move_references(table: Table, from_id: int, to_id: int) -> dict[str, int]:
    """Point every row that references `from_id` in `table` at `to_id` instead; rows that would
    duplicate one `to_id` already has (same unique key) are deleted. Returns rows moved per table."""
    moved = {}
    for column in referencing_columns(table):
        referencing = column.table
        for others in _unique_keys(column):
            # Another alias of the table: the survivor's row with the same values in the rest of the key.
            theirs = referencing.alias()
            same_key = and_(theirs.c[column.key] == to_id, *(theirs.c[other.key] == other for other in others))
            db.session.execute(delete(referencing).where(column == from_id, exists(select(1).select_from(theirs).where(same_key))),
                               execution_options={"synchronize_session": False})
        result = db.session.execute(update(referencing).where(column == from_id).values({column.key: to_id}),
                                    execution_options={"synchronize_session": False})
        if result.rowcount:
            moved[f"{referencing.name}.{column.key}"] = result.rowcount
    return moved
