"""The catalog: the SQLite database and one small row module per table.

Every transaction of the project is opened here (`transaction.transaction`, which nests
as a savepoint), every list of ids is passed one way (`idlists`), and the rest of the
code reads and writes tables through the row modules' functions. One exception by
design: search compiles a parsed query into SQL (`search.planner`) and runs it
(`search.executor`); the tables and caches it reads besides are reached through here.
"""
