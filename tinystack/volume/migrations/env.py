from tinystack.common.migration_env import run
from tinystack.volume.models import Base

run(Base.metadata)
