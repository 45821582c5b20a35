from tinystack.common.migration_env import run
from tinystack.network.models import Base

run(Base.metadata)
