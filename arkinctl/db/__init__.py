"""Database layer: models, engine and session, migrations. Imports only SQLAlchemy."""
