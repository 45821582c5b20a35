from tinystack.common.migration_env import run
from tinystack.identity.models import Base

run(Base.metadata)
