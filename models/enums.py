"""The product's vocabularies: code names used in the database and API, with Chinese and English labels.

This is the single source for /api/v1/meta, validation and the admin's labels.
"""

from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """A user's role; stored as its value, so `Role.ADMIN == "admin"` and no migration is needed."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class VisitStatus(StrEnum):
    """Where a visit stands in review (services.visits.workflow moves it)."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


class BeneficiaryStatus(StrEnum):
    """Whether a person is still in the registry."""

    ACTIVE = "active"
    CLOSED = "closed"


def _vocabulary(*entries: tuple[str, str, str]) -> MappingProxyType:
    # str(): enum members become their plain value, so the keys serialise and compare as the stored codes.
    return MappingProxyType({str(code): {"zh": zh, "en": en} for code, zh, en in entries})


ROLES = _vocabulary(
    (Role.WORKER, "社工", "Social worker"),
    (Role.SUPERVISOR, "督导员", "Supervisor"),
    (Role.ADMIN, "管理员", "Administrator"),
)

REGION_LEVELS = _vocabulary(
    ("city", "市", "City"),
    ("county", "县/区", "County/district"),
    ("township", "乡镇/街道", "Township/street"),
    ("village", "村/社区", "Village/community"),
)

BENEFICIARY_CATEGORIES = _vocabulary(
    ("dibao", "低保", "Minimum living allowance"),
    ("tekun", "特困", "Extreme hardship"),
    ("dibao_edge", "低保边缘", "Near minimum allowance"),
    ("orphan", "孤儿", "Orphan"),
    ("unsupported_child", "事实无人抚养儿童", "De facto unsupported child"),
    ("left_behind_child", "留守儿童", "Left-behind child"),
    ("child_in_difficulty", "困境儿童", "Child in difficulty"),
    ("left_behind_elderly", "留守老人", "Left-behind elderly"),
    ("elderly_alone", "独居老人", "Elderly living alone"),
    ("disabled", "残疾人", "Person with disability"),
    ("other", "其他", "Other"),
)

RISK_TIERS = _vocabulary(
    ("high", "高风险（每周）", "High (weekly)"),
    ("key", "重点（每月）", "Key (monthly)"),
    ("general", "一般（每季度）", "General (quarterly)"),
)

GENDERS = _vocabulary(("male", "男", "Male"), ("female", "女", "Female"))

BENEFICIARY_STATUSES = _vocabulary((BeneficiaryStatus.ACTIVE, "在册", "Active"),
                                   (BeneficiaryStatus.CLOSED, "已销档", "Closed"))

VISIT_KINDS = _vocabulary(
    ("home_visit", "入户走访", "Home visit"),
    ("case_service", "个案服务", "Case service"),
    ("community_activity", "社区活动", "Community activity"),
    ("policy_outreach", "政策宣传", "Policy outreach"),
    ("hardship_assistance", "困难帮扶", "Hardship assistance"),
    ("disaster_relief", "防汛救灾", "Disaster relief"),
    ("epidemic_response", "疫情防控", "Epidemic response"),
    ("care_call", "电话/视频探访", "Phone or video call"),
)

# Kinds that are about one registered person; the others (activities, duty) may have none.
KINDS_WITH_BENEFICIARY = frozenset({"home_visit", "case_service", "care_call"})
# A care_call is done remotely: no geotag and no photo.
KINDS_WITHOUT_LOCATION = frozenset({"care_call"})
KINDS_REQUIRING_PHOTO = frozenset({"home_visit"})
# Duty kinds are reported in hours.
DUTY_KINDS = frozenset({"disaster_relief", "epidemic_response"})

SERVICES = _vocabulary(
    ("policy_implementation", "政策落实", "Policy implementation"),
    ("resource_linking", "资源链接", "Resource linking"),
    ("capacity_building", "能力建设", "Capacity building"),
    ("relationship_adjustment", "关系调适", "Relationship adjustment"),
    ("community_integration", "社区融入", "Community integration"),
)

DOMAINS = _vocabulary(
    ("social_assistance", "社会救助", "Social assistance"),
    ("elderly_care", "养老服务", "Elderly care"),
    ("child_welfare", "儿童福利", "Child welfare"),
    ("community_governance", "社区治理", "Community governance"),
)

NEEDS = _vocabulary(
    ("daily_care", "生活照料", "Daily care"),
    ("rehabilitation", "康复护理", "Rehabilitation and nursing"),
    ("emotional_support", "精神慰藉", "Emotional support"),
    ("home_adaptation", "适老化改造", "Age-friendly home adaptation"),
    ("policy_consultation", "政策咨询", "Policy consultation"),
    ("resource_linking", "资源链接", "Resource linking"),
    ("other", "其他", "Other"),
)

# The four areas of the visit forms; each is answered ok / concern, with an optional note.
FINDING_AREAS = _vocabulary(
    ("basic_living", "基本生活（吃穿住医）", "Basic living (food, clothing, housing, medical)"),
    ("safety", "安全隐患（房、水、电、气）", "Safety risks (house, water, electricity, gas)"),
    ("family_support", "家庭赡养/抚养", "Family support"),
    ("care_received", "照料情况", "Care received"),
)
FINDING_VALUES = _vocabulary(("ok", "正常", "OK"), ("concern", "有问题", "Concern"))

VISIT_STATUSES = _vocabulary(
    (VisitStatus.SUBMITTED, "待审核", "Submitted"),
    (VisitStatus.APPROVED, "已通过", "Approved"),
    (VisitStatus.REJECTED, "未通过", "Rejected"),
    (VisitStatus.RETURNED, "退回补充", "Returned"),
)

REVIEW_ACTIONS = _vocabulary(
    ("submit", "提交", "Submitted"),
    ("resubmit", "重新提交", "Resubmitted"),
    ("approve", "通过", "Approved"),
    ("reject", "不通过", "Rejected"),
    ("return", "退回补充", "Returned"),
    ("reopen", "重新打开", "Reopened"),
)

COORD_TYPES = _vocabulary(("wgs84", "WGS-84（GPS）", "WGS-84 (GPS)"), ("gcj02", "GCJ-02（国测局）", "GCJ-02"))

# Severity orders the review queue: higher first.
WARNING_CODES = MappingProxyType(
    {
        "far_from_home": {"zh": "距离登记住址过远", "en": "Far from registered home", "severity": 3},
        "poor_accuracy": {"zh": "定位精度差", "en": "Poor location accuracy", "severity": 1},
        "photo_far": {"zh": "照片拍摄位置偏离", "en": "Photo taken far from check-in", "severity": 2},
        "photo_old": {"zh": "照片拍摄时间不符", "en": "Photo not taken at the visit", "severity": 2},
        "photo_reused": {"zh": "照片重复使用", "en": "Photo used in another visit", "severity": 3},
        "fast_travel": {"zh": "移动速度异常", "en": "Impossible travel speed", "severity": 3},
        "too_short": {"zh": "走访时间过短", "en": "Visit too short", "severity": 1},
        "clock_skew": {"zh": "手机时间异常", "en": "Phone clock disagrees with server", "severity": 1},
        "mock_location": {"zh": "疑似虚拟定位", "en": "Mock location reported", "severity": 3},
    }
)

AUDIT_ACTIONS = _vocabulary(
    ("login", "登录", "Log in"),
    ("login_failed", "登录失败", "Failed log in"),
    ("logout", "退出", "Log out"),
    ("user_created", "创建账号", "Account created"),
    ("user_updated", "修改账号", "Account changed"),
    ("user_deactivated", "停用账号", "Account deactivated"),
    ("user_reactivated", "重新启用账号", "Account re-activated"),
    ("password_changed", "修改密码", "Password changed"),
    ("visit_reviewed", "审核走访", "Visit reviewed"),
    ("id_number_revealed", "查看完整身份证号", "Full ID number viewed"),
    ("beneficiaries_imported", "导入服务对象", "Beneficiaries imported"),
    ("beneficiary_changed", "修改服务对象", "Beneficiary changed"),
    ("export", "导出", "Export"),
    ("schedule_changed", "修改走访周期", "Visit schedule changed"),
    ("wechat_bound", "绑定微信", "WeChat account bound"),
    ("id_number_key_rotated", "更换身份证号加密密钥", "ID number key rotated"),
    ("station_created", "创建社工站", "Station created"),
    ("station_changed", "修改社工站", "Station changed"),
    ("region_changed", "修改行政区划", "Region changed"),
    ("service_point_changed", "修改服务点", "Service point changed"),
)

# What an audit event is about: the table name services.audit.record_audit stores as its object_type (and the
# data set an export names).
AUDIT_OBJECT_TYPES = _vocabulary(
    ("users", "账号", "Account"),
    ("visits", "走访记录", "Visit record"),
    ("beneficiaries", "服务对象", "Beneficiary"),
    ("stations", "社工站", "Station"),
    ("service_points", "服务点", "Service point"),
    ("regions", "行政区划", "Region"),
    ("category_schedules", "走访周期", "Visit schedule"),
)

# The keys of audit events' details, and the field names their `fields` lists name; services store these codes,
# the admin's audit log shows the labels (an unknown key is shown as it is).
AUDIT_DETAIL_KEYS = _vocabulary(
    ("review_action", "审核操作", "Review action"),
    ("from_status", "原状态", "From status"),
    ("to_status", "新状态", "To status"),
    ("comment", "意见", "Comment"),
    ("reason", "原因", "Reason"),
    ("dataset", "数据", "Data"),
    ("format", "格式", "Format"),
    ("filters", "筛选条件", "Filters"),
    ("full_id_numbers", "完整身份证号", "Full ID numbers"),
    ("created", "新建", "Created"),
    ("fields", "修改的字段", "Fields changed"),
    ("rows", "行数", "Rows"),
    ("updated", "更新", "Updated"),
    ("unchanged", "未变", "Unchanged"),
    ("key_id", "密钥编号", "Key id"),
    ("method", "方式", "Method"),
    ("username", "用户名", "Username"),
    ("display_name", "显示名称", "Display name"),
    ("role", "角色", "Role"),
    ("stations", "社工站", "Stations"),
    ("before", "修改前", "Before"),
    ("after", "修改后", "After"),
    ("category", "类别", "Category"),
    ("code", "编码", "Code"),
    ("name", "名称", "Name"),
    ("level", "级别", "Level"),
    ("parent", "上级区划", "Parent region"),
    ("region", "行政区划", "Region"),
    ("station", "社工站", "Station"),
    ("station_id", "社工站", "Station"),
    ("worker_id", "社工", "Social worker"),
    ("service_point", "服务点", "Service point"),
    ("id_number", "身份证号", "ID number"),
    ("gender", "性别", "Gender"),
    ("birth_date", "出生日期", "Date of birth"),
    ("categories", "类别", "Categories"),
    ("risk_tier", "风险等级", "Risk tier"),
    ("address", "地址", "Address"),
    ("phone", "电话", "Phone"),
    ("latitude", "纬度", "Latitude"),
    ("longitude", "经度", "Longitude"),
    ("home_latitude", "住址纬度", "Home latitude"),
    ("home_longitude", "住址经度", "Home longitude"),
    ("status", "状态", "Status"),
    ("kind", "走访类型", "Kind"),
    ("received_from", "接收起始日期", "Received from"),
    ("received_to", "接收截止日期", "Received to"),
    ("has_warnings", "有预警", "Has warnings"),
    ("warning_code", "预警类型", "Warning"),
    ("beneficiary_name", "服务对象姓名", "Beneficiary name"),
)

# How a user logged in (the `method` of a login audit event; password logins store none).
LOGIN_METHODS = _vocabulary(
    ("password", "密码", "Password"),
    ("wechat", "微信", "WeChat"),
)

# Default visit frequency by category, in days; a person in several categories follows the strictest.
DEFAULT_CATEGORY_INTERVAL_DAYS = MappingProxyType(
    {
        code: 30 if code in {"tekun", "unsupported_child", "left_behind_child", "child_in_difficulty",
                             "elderly_alone"} else 91
        for code in BENEFICIARY_CATEGORIES
    }
)
RISK_TIER_INTERVAL_DAYS = MappingProxyType({"high": 7, "key": 30, "general": 91})
