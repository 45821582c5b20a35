from tinystack.common.migration_env import run
from tinystack.metric.models import Base

run(Base.metadata)
