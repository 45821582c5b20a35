from tinystack.common.migration_env import run
from tinystack.compute.models import Base

run(Base.metadata)
