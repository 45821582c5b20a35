from tinystack.common.migration_env import run
from tinystack.image.models import Base

run(Base.metadata)
