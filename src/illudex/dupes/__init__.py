"""Near-duplicate finding: features → candidates → verification → relations → groups.

`features.extract` turns a decoded picture into a few KB of bytes (stored in the
catalog); `groups.find_relations` finds which pictures are duplicates of each other and
which are *alternates* (the same drawing recoloured, or with a region changed);
`groups.build_groups` turns relations plus the user's decisions into duplicate groups.
"""
