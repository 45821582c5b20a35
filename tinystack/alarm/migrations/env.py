from tinystack.alarm.models import Base
from tinystack.common.migration_env import run

run(Base.metadata)
