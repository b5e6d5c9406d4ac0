import collections
from tests.integration import test_sync_stateful as T
from tests.integration.test_sync_stateful import *  # noqa
COUNT = collections.Counter()
orig = T.SyncMachine.predict
def predict(self, dev, m):
    r = orig(self, dev, m); COUNT[(r["status"], r.get("reason"))] += 1; return r
T.SyncMachine.predict = predict
origd = T.SyncMachine.deliver
def deliver(self, dev, batch, drop_reply=False):
    COUNT["deliveries"] += 1; return origd(self, dev, batch, drop_reply)
T.SyncMachine.deliver = deliver
def test_count(live_server, login):
    test_devices_and_a_supervisor_in_any_order(live_server, login)
    print(dict(COUNT))
