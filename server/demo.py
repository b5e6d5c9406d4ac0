"""Demo data: two branches, customers, products from the seeds' industries, contracts,
parts, users (password "demo") and work orders in every state. Loaded only into a new database.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from server.accounts.passwords import hash_password
from server.accounts.tables import Branch, User
from server.calls.rules import ContractCover, derive_category
from server.calls.tables import ServiceCall
from server.contracts.tables import MaintenanceContract
from server.customers.tables import Customer, ProductModel, SoldUnit
from server.dispatch.calendar import WorkingCalendar, add_working_minutes, sla_due
from server.parts.tables import Part, VanStock
from server.workorders.tables import DispatchEvent, WorkOrder

TZ = ZoneInfo("Asia/Shanghai")
# China's 2026 public holidays and make-up working days (国务院办公厅 2026 年部分节假日安排).
CALENDAR_2026 = {
    "holidays": [
        "2026-01-01", "2026-01-02", "2026-01-03",
        *[f"2026-02-{d:02d}" for d in range(15, 24)],
        "2026-04-04", "2026-04-05", "2026-04-06",
        *[f"2026-05-0{d}" for d in range(1, 6)],
        "2026-06-19", "2026-06-20", "2026-06-21",
        "2026-09-25", "2026-09-26", "2026-09-27",
        *[f"2026-10-0{d}" for d in range(1, 8)],
    ],
    "makeup_days": ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}

BRANCHES = [
    ("SH-C", "上海市区服务中心", "Shanghai City Service Centre", "urban"),
    ("SH-S", "上海松江服务组", "Shanghai Songjiang Service Group", "suburban"),
]
USERS = [  # username, name, role, branch
    ("clerk", "李娜", "clerk", "SH-C"),
    ("supervisor", "王建国", "supervisor", "SH-C"),
    ("tech1", "张伟", "technician", "SH-C"),
    ("tech2", "刘洋", "technician", "SH-C"),
    ("manager", "陈静", "manager", "SH-C"),
    ("clerk2", "杨敏", "clerk", "SH-S"),
    ("supervisor2", "赵磊", "supervisor", "SH-S"),
    ("tech3", "黄强", "technician", "SH-S"),
    ("hq", "周丽", "service_dept", None),
]
MODELS = [  # code, name, industry, warranty months
    ("LED-PL40", "LED 平板灯 40W", "LED lighting", 24),
    ("LED-ST150", "LED 路灯 150W", "LED lighting", 36),
    ("LED-HB200", "LED 工矿灯 200W", "LED lighting", 24),
    ("BAT-48V100", "48V 100Ah 磷酸铁锂电池组", "power batteries", 36),
    ("ESS-215", "215kWh 储能柜", "power batteries", 24),
    ("MED-PM12", "PM-12 病人监护仪", "medical devices", 12),
    ("MED-IP3", "IP-3 输液泵", "medical devices", 12),
    ("MED-US8", "US-8 便携彩超", "medical devices", 18),
]
CUSTOMERS = [  # name, phone, address, zone, class, branch
    ("上海瑞金医院设备科", "021-64370045", "上海市黄浦区瑞金二路197号", "urban", "A", "SH-C"),
    ("王芳", "13801234567", "上海市徐汇区漕溪北路88号1203室", "urban", "C", "SH-C"),
    ("静安商城物业管理处", "021-62881234", "上海市静安区南京西路1618号", "urban", "B", "SH-C"),
    ("陈明", "13912345678", "上海市长宁区延安西路1088号", "urban", "C", "SH-C"),
    ("浦东新区市政养护公司", "021-58391122", "上海市浦东新区张杨路500号", "urban", "A", "SH-C"),
    ("赵丽华", "13671234567", "上海市杨浦区国权路39号", "urban", "C", "SH-C"),
    ("徐汇区中心医院", "021-54030022", "上海市徐汇区淮海中路966号", "urban", "A", "SH-C"),
    ("孙强", "13788889999", "上海市虹口区四川北路1318号", "urban", "B", "SH-C"),
    ("松江工业园区管委会", "021-57741234", "上海市松江区新松江路1188号", "suburban", "A", "SH-S"),
    ("周杰", "13585551234", "上海市松江区中山中路128号", "suburban", "C", "SH-S"),
    ("青浦物流仓储有限公司", "021-59201888", "上海市青浦区华新镇华志路1001号", "suburban", "B", "SH-S"),
    ("吴秀英", "13524681357", "上海市松江区泗泾镇泗宝路66号", "suburban", "C", "SH-S"),
]
PARTS = [  # code, name, English name, unit price (cents)
    ("LED-40W", "LED 灯板 40W", "LED board 40 W", 6800),
    ("LED-DRV-40", "LED 驱动电源 40W", "LED driver 40 W", 4500),
    ("LED-DRV-150", "LED 驱动电源 150W", "LED driver 150 W", 16800),
    ("LED-LENS-ST", "路灯透镜", "Street light lens", 2300),
    ("LED-SPD", "防雷模块", "Surge protector", 3500),
    ("LED-SENSOR", "光控感应器", "Light sensor", 5200),
    ("BAT-CELL-100", "磷酸铁锂电芯 100Ah", "LiFePO4 cell 100 Ah", 42000),
    ("BAT-BMS-48", "电池管理板 48V", "Battery management board 48 V", 58000),
    ("BAT-FUSE-200", "直流熔断器 200A", "DC fuse 200 A", 1800),
    ("BAT-CABLE", "电池连接线", "Battery cable", 1200),
    ("ESS-FAN", "储能柜散热风扇", "Cabinet cooling fan", 9800),
    ("ESS-CONT", "直流接触器", "DC contactor", 26500),
    ("MED-SPO2", "血氧探头", "SpO2 probe", 38000),
    ("MED-ECG5", "五导联心电线", "5-lead ECG cable", 29000),
    ("MED-NIBP", "血压袖带（成人）", "NIBP cuff, adult", 8500),
    ("MED-BAT-PM", "监护仪电池", "Monitor battery", 32000),
    ("MED-PUMP-DOOR", "输液泵泵门组件", "Infusion pump door assembly", 46000),
    ("MED-PROBE-C5", "凸阵探头 C5", "Convex probe C5", 980000),
    ("GEN-SCREW", "紧固螺丝包", "Screw kit", 300),
    ("GEN-FUSE-5A", "保险丝 5A", "Fuse 5 A", 150),
]


def _day(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), TZ).astimezone(timezone.utc)


def previous_working_day(today: date, cal: WorkingCalendar) -> date:
    day = today - timedelta(days=1)
    while not cal.intervals_on(day):
        day -= timedelta(days=1)
    return day


async def load_demo(now: datetime | None = None) -> bool:
    """Load the demo into an empty database; False (and nothing done) when it has data."""
    if await Branch.count() > 0:
        return False
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(TZ).date()
    branches = {}
    for code, name, name_en, zone in BRANCHES:
        branch = Branch(code=code, name=name, name_en=name_en, default_zone=zone,
                        timezone="Asia/Shanghai", calendar=CALENDAR_2026)
        await branch.save()
        branches[code] = branch
    cal = WorkingCalendar.from_settings(CALENDAR_2026, "Asia/Shanghai")

    password = await hash_password("demo")
    users = {}
    for username, name, role, branch_code in USERS:
        user = User(username=username, display_name=name, password_hash=password, role=role,
                    branch=branches[branch_code].id if branch_code else None, created_at=now)
        await user.save()
        users[username] = user

    models = {}
    for code, name, industry, months in MODELS:
        model = ProductModel(code=code, name=name, industry=industry, warranty_months=str(months))
        await model.save()
        models[code] = model

    customers = []
    for name, phone, address, zone, klass, branch_code in CUSTOMERS:
        customer = Customer(name=name, phone=phone, address=address, zone=zone,
                            customer_class=klass, branch=branches[branch_code].id, created_at=now)
        await customer.save()
        customers.append(customer)

    # One sold unit per customer; even ones within warranty, odd ones out of it.
    model_codes = [m[0] for m in MODELS]
    units = []
    for i, customer in enumerate(customers):
        code = model_codes[i % len(model_codes)]
        months = dict((m[0], m[3]) for m in MODELS)[code]
        sale = today - timedelta(days=120 if i % 2 == 0 else 30 * months + 200)
        unit = SoldUnit(customer=customer.id, model=models[code].id,
                        serial=f"{code}-{2024 + i % 3}{i + 1:05d}", sale_date=sale,
                        warranty_end=sale + timedelta(days=30 * months))
        await unit.save()
        units.append(unit)

    contracts = [
        MaintenanceContract(number="MC-2026-001", customer=customers[7].id, sold_unit=units[7].id,
                            starts_on=today - timedelta(days=340), ends_on=today + timedelta(days=20),
                            fee_cents=1200000),
        MaintenanceContract(number="MC-2026-002", customer=customers[10].id, sold_unit=None,
                            starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=300),
                            fee_cents=3600000),
    ]
    for contract in contracts:
        await contract.save()

    parts = {}
    for code, name, name_en, price in PARTS:
        part = Part(code=code, name=name, name_en=name_en, unit_price_cents=price)
        await part.save()
        parts[code] = part
    for tech, codes in (("tech1", PARTS[:10]), ("tech2", PARTS[5:16]), ("tech3", PARTS[:8])):
        for code, *_ in codes:
            await VanStock(technician=users[tech].id, part=parts[code].id, qty=Decimal("4")).save()

    yesterday = previous_working_day(today, cal)
    orders = [  # customer index, received, status, technician, fault
        (1, _day(yesterday, 16, 20), "waiting", None, "客厅 LED 平板灯不亮，开关后闪烁一下即灭"),
        (3, now - timedelta(minutes=50), "waiting", None, "路灯夜间不亮，白天正常"),
        (4, now - timedelta(minutes=20), "waiting", None, "工矿灯频闪，车间光线不稳定"),
        (9, now - timedelta(minutes=35), "waiting", None, "电池组无法充电，BMS 报警"),
        (0, now - timedelta(hours=3), "dispatched", "tech1", "监护仪血氧读数不稳定"),
        (5, now - timedelta(hours=2), "dispatched", "tech2", "储能柜风扇噪声大，温度告警"),
        (6, now - timedelta(hours=4), "in_progress", "tech1", "输液泵泵门无法关紧"),
        (2, now - timedelta(days=2), "completed", "tech2", "商场走廊灯具驱动损坏"),
        (7, now - timedelta(days=5), "closed", "tech1", "电池组容量衰减，续航明显变短"),
    ]
    for n, (ci, received, status, tech, fault) in enumerate(orders, start=1):
        customer, unit = customers[ci], units[ci]
        branch = branches["SH-C" if customer.zone == "urban" else "SH-S"]
        covers = [ContractCover(c.number, c.starts_on, c.ends_on) for c in contracts
                  if c.customer == customer.id and c.sold_unit in (None, unit.id)]
        category = derive_category(received.astimezone(TZ).date(), unit.warranty_end, covers)
        stamp = received.astimezone(TZ).strftime("%Y%m%d")
        call = ServiceCall(
            number=f"{branch.code}-{stamp}-{n:04d}", branch=branch.id, customer=customer.id,
            sold_unit=unit.id, fault=fault, channel=("phone", "web", "email", "walk_in")[n % 4],
            received_at=received, owner=users["clerk" if branch.code == "SH-C" else "clerk2"].id,
            zone=customer.zone, category=category.code, category_reason=category.reason,
            status="closed" if status == "closed" else "dispatching", created_at=received, updated_at=received)
        await call.save()
        assigned = users[tech] if tech and branch.code == "SH-C" else (users["tech3"] if tech else None)
        dispatched_at = received + timedelta(minutes=15) if tech else None
        order = WorkOrder(
            number=f"WO-{stamp}-{n:04d}", call=call.id, branch=branch.id, category=category.code,
            zone=customer.zone, description=fault, status=status,
            assigned_to=assigned.id if assigned else None, received_at=received,
            sla_due_at=sla_due(received, customer.zone, cal), dispatched_at=dispatched_at,
            arrived_at=add_working_minutes(received, 90, cal) if status in ("in_progress", "completed", "closed") else None,
            completed_at=add_working_minutes(received, 200, cal) if status in ("completed", "closed") else None,
            closed_at=add_working_minutes(received, 300, cal) if status == "closed" else None,
            outcome="fixed" if status in ("completed", "closed") else "",
            work_done="更换损坏部件，通电测试正常" if status in ("completed", "closed") else "",
            created_at=received, updated_at=received)
        await order.save()
        if assigned:
            await DispatchEvent(work_order=order.id, action="dispatch", to_user=assigned.id,
                                by_user=users["supervisor" if branch.code == "SH-C" else "supervisor2"].id,
                                at=dispatched_at).save()
    return True
