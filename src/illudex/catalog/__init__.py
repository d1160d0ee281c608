"""The catalog: the SQLite database and one small row module per table.

Every SQL statement and every transaction of the project lives in this package;
the rest of the code calls these functions.
"""
