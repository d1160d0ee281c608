"""Near-duplicate finding: features → candidates → verification → relations → groups.

`features.extract` turns a decoded picture into a few KB of bytes (stored in the
catalog); `engine.find_relations` finds which pictures are duplicates of each other and
which are *alternates* (the same drawing recoloured, or with a region changed), comparing
pairs with `verify` through maps that `transforms` finds; `relations.build_groups` turns
relations plus the user's decisions into duplicate groups.
"""
