from tinystack.common.migration_env import run
from tinystack.placement.models import Base

run(Base.metadata)
