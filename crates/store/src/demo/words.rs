//! The words demo leads are made of: surnames and given names, cities with their area codes,
//! company brands and trades, job titles, lead sources, tags, mobile prefixes and products, each
//! list with the weight it is drawn by where that matters.

/// Surnames with their pinyin and a weight close to their frequency.
pub(super) const SURNAMES: &[(&str, &str, u32)] = &[
    ("王", "wang", 10),
    ("李", "li", 10),
    ("张", "zhang", 9),
    ("刘", "liu", 7),
    ("陈", "chen", 6),
    ("杨", "yang", 4),
    ("赵", "zhao", 3),
    ("黄", "huang", 3),
    ("周", "zhou", 3),
    ("吴", "wu", 3),
    ("徐", "xu", 2),
    ("孙", "sun", 2),
    ("胡", "hu", 2),
    ("朱", "zhu", 2),
    ("高", "gao", 2),
    ("林", "lin", 2),
    ("何", "he", 2),
    ("郭", "guo", 2),
    ("马", "ma", 2),
    ("罗", "luo", 1),
    ("梁", "liang", 1),
    ("宋", "song", 1),
    ("郑", "zheng", 1),
    ("谢", "xie", 1),
    ("韩", "han", 1),
    ("唐", "tang", 1),
    ("冯", "feng", 1),
    ("于", "yu", 1),
    ("董", "dong", 1),
    ("萧", "xiao", 1),
    ("程", "cheng", 1),
    ("曹", "cao", 1),
    ("袁", "yuan", 1),
    ("邓", "deng", 1),
    ("许", "xu", 1),
    ("沈", "shen", 1),
    ("曾", "zeng", 1),
    ("彭", "peng", 1),
];

pub(super) const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "华", "辉", "鹏", "丹", "萍", "鑫", "宇", "浩", "凯", "婷", "雪", "琳",
    "秀英", "桂英", "建华", "建国", "志强", "晓明", "海燕", "欣怡", "子涵", "梓轩", "思远", "雨涵",
    "嘉怡", "俊杰", "家豪", "晓东", "立新", "春梅", "玉兰", "国庆", "红梅", "振华", "永刚", "文静",
    "佳琪", "浩然", "一鸣", "晓燕", "丽华", "志伟", "海峰", "雅婷", "天宇", "瑞雪",
];

/// How a contact is called when only the surname is known.
pub(super) const HONORIFICS: &[&str] = &["先生", "女士", "总", "经理"];

/// City, region, area code and weight.
pub(super) const CITIES: &[(&str, &str, &str, u32)] = &[
    ("北京", "华北", "010", 14),
    ("上海", "华东", "021", 14),
    ("广州", "华南", "020", 9),
    ("深圳", "华南", "0755", 10),
    ("杭州", "华东", "0571", 7),
    ("成都", "西南", "028", 6),
    ("武汉", "华中", "027", 5),
    ("西安", "西北", "029", 4),
    ("南京", "华东", "025", 5),
    ("苏州", "华东", "0512", 4),
    ("天津", "华北", "022", 3),
    ("重庆", "西南", "023", 4),
    ("长沙", "华中", "0731", 3),
    ("郑州", "华中", "0371", 3),
    ("青岛", "华东", "0532", 2),
    ("沈阳", "东北", "024", 2),
    ("合肥", "华东", "0551", 2),
    ("东莞", "华南", "0769", 2),
];

/// A company's trade name with its pinyin (for e-mail domains).
pub(super) const BRANDS: &[(&str, &str)] = &[
    ("星河", "xinghe"),
    ("华信", "huaxin"),
    ("蓝海", "lanhai"),
    ("鼎盛", "dingsheng"),
    ("宏达", "hongda"),
    ("恒通", "hengtong"),
    ("瑞丰", "ruifeng"),
    ("金桥", "jinqiao"),
    ("天成", "tiancheng"),
    ("博远", "boyuan"),
    ("智诚", "zhicheng"),
    ("新元", "xinyuan"),
    ("众合", "zhonghe"),
    ("远航", "yuanhang"),
    ("明德", "mingde"),
    ("长风", "changfeng"),
    ("云帆", "yunfan"),
    ("九州", "jiuzhou"),
    ("泰和", "taihe"),
    ("嘉禾", "jiahe"),
    ("安信", "anxin"),
    ("正元", "zhengyuan"),
    ("凯晟", "kaisheng"),
    ("润泽", "runze"),
    ("汇通", "huitong"),
    ("启明", "qiming"),
    ("同创", "tongchuang"),
    ("锦程", "jincheng"),
    ("华瑞", "huarui"),
    ("思源", "siyuan"),
    ("海纳", "haina"),
    ("卓越", "zhuoyue"),
    ("易达", "yida"),
    ("优途", "youtu"),
    ("禾丰", "hefeng"),
    ("睿智", "ruizhi"),
];

/// The trade word in a company name and the `industry` option it implies.
pub(super) const TRADES: &[(&str, &str)] = &[
    ("科技", "互联网"),
    ("网络科技", "互联网"),
    ("信息技术", "互联网"),
    ("软件", "互联网"),
    ("教育科技", "教育"),
    ("教育咨询", "教育"),
    ("职业培训", "教育"),
    ("医疗器械", "医疗"),
    ("医药", "医疗"),
    ("健康管理", "医疗"),
    ("机械制造", "制造"),
    ("精密机械", "制造"),
    ("电子", "制造"),
    ("新材料", "制造"),
    ("商贸", "零售"),
    ("超市管理", "零售"),
    ("服饰", "零售"),
    ("投资管理", "金融"),
    ("融资租赁", "金融"),
    ("保险代理", "金融"),
];

pub(super) const TITLES: &[(&str, u32)] = &[
    ("经理", 10),
    ("采购经理", 8),
    ("采购主管", 6),
    ("总经理", 6),
    ("副总经理", 3),
    ("行政专员", 5),
    ("行政主管", 4),
    ("办公室主任", 3),
    ("财务总监", 3),
    ("人事经理", 3),
    ("IT主管", 3),
    ("技术总监", 2),
    ("运营总监", 2),
    ("市场部经理", 3),
    ("董事长", 1),
];

pub(super) const SOURCES: &[(&str, u32)] = &[
    ("展会", 15),
    ("官网", 20),
    ("转介绍", 12),
    ("老客户推荐", 8),
    ("电话黄页", 25),
    ("网络广告", 20),
];

pub(super) const TAGS: &[&str] = &[
    "VIP",
    "回访",
    "预算充足",
    "决策人",
    "价格敏感",
    "竞品用户",
    "加急",
    "需演示",
    "老客户",
];

/// Mainland mobile prefixes in use.
pub(super) const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "199",
];

pub(super) const PRODUCTS: &[&str] = &["标准版", "专业版", "企业版"];
