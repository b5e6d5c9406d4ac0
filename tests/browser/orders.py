"""Work orders made for one test, in the shared demo database (tables bound by the caller)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone


async def create_order(username: str, category: str = "A", fault: str = "灯具不亮，需要上门检查",
                       status: str = "dispatched", unit_of: int | None = None, received_minutes_ago: int = 30) -> int:
    """A new order assigned to `username` (own customer and sold unit, or the unit of order
    `unit_of`, for a service history); returns its id."""
    from server.accounts.tables import Branch, User
    from server.calls.tables import ServiceCall
    from server.customers.tables import Customer, ProductModel, SoldUnit
    from server.dispatch.calendar import WorkingCalendar, sla_due
    from server.workorders.tables import DispatchEvent, WorkOrder

    now = datetime.now(timezone.utc)
    tech = await User.select(User.id, User.branch).where(User.username == username).first()
    supervisor = await User.select(User.id).where(User.role == "supervisor").where(
        User.branch == tech["branch"]).first()
    branch = await Branch.select().where(Branch.id == tech["branch"]).output(load_json=True).first()
    cal = WorkingCalendar.from_settings(branch["calendar"], branch["timezone"])
    tag = secrets.token_hex(4)
    if unit_of is not None:
        earlier = await WorkOrder.select(WorkOrder.call.customer.as_alias("customer"),
                                         WorkOrder.call.sold_unit.as_alias("unit")).where(WorkOrder.id == unit_of).first()
        customer_id, unit_id = earlier["customer"], earlier["unit"]
    else:
        customer = Customer(name=f"测试客户 {tag}", phone=f"139{secrets.randbelow(10**8):08d}",
                            address=f"上海市黄浦区测试路{secrets.randbelow(900) + 100}号", zone="urban",
                            customer_class="B", branch=branch["id"], created_at=now)
        await customer.save()
        model = await ProductModel.select(ProductModel.id).where(ProductModel.code == "LED-PL40").first()
        unit = SoldUnit(customer=customer.id, model=model["id"], serial=f"T-{tag}",
                        sale_date=(now - timedelta(days=400)).date(),
                        warranty_end=(now - timedelta(days=30)).date())
        await unit.save()
        customer_id, unit_id = customer.id, unit.id
    received = now - timedelta(minutes=received_minutes_ago)
    call = ServiceCall(number=f"T-{tag}", branch=branch["id"], customer=customer_id, sold_unit=unit_id,
                       fault=fault, channel="phone", received_at=received, owner=supervisor["id"], zone="urban",
                       category=category, category_reason="paid", status="dispatching",
                       created_at=received, updated_at=received)
    await call.save()
    order = WorkOrder(number=f"WO-T-{tag}", call=call.id, branch=branch["id"], category=category, zone="urban",
                      description=fault, status=status, assigned_to=tech["id"], received_at=received,
                      sla_due_at=sla_due(received, "urban", cal), dispatched_at=now, created_at=received,
                      updated_at=now, completed_at=now if status in ("completed", "closed") else None,
                      outcome="fixed" if status in ("completed", "closed") else "",
                      work_done="更换驱动电源" if status in ("completed", "closed") else "")
    await order.save()
    await DispatchEvent(work_order=order.id, action="dispatch", to_user=tech["id"], by_user=supervisor["id"],
                        at=now).save()
    return order.id
