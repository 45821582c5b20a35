from tinystack.common.migration_env import run
from tinystack.load_balancer.models import Base

run(Base.metadata)
