//! The demo knowledge base and call scripts: articles a telesales floor really keeps (price
//! objections, editions, refunds, invoices…) and scripts with placeholders. The demo seeds them,
//! and the search relevance tests run over the same articles.

use leadline_domain::{ArticleFields, ScriptFields, ScriptId, Viewer};

use crate::{Db, Result, StoreError, kb, scripts};

/// A fixture article: category path, title, Markdown body, tags.
pub struct FixtureArticle {
    pub category: &'static str,
    pub title: &'static str,
    pub body: &'static str,
    pub tags: &'static [&'static str],
}

/// A fixture script: title, category, body with placeholders, shared or private.
pub struct FixtureScript {
    pub title: &'static str,
    pub category: &'static str,
    pub body: &'static str,
    pub shared: bool,
}

pub const ARTICLES: &[FixtureArticle] = &[
    FixtureArticle {
        category: "异议处理",
        title: "价格异议：客户嫌贵怎么回应 (Price objections)",
        body: "## 常见说法\n\n客户常说：“太贵了”“价格太高”“别家更便宜”“能不能再便宜点”。这类价格异议通常不是真的买不起，而是还没看到价值。\n\n## 应对步骤\n\n1. **先认同，不争辩**：“理解您的顾虑，价钱确实是要考虑的重要因素。”\n2. **拆分成本**：把年费折算到每个坐席每天，专业版每人每天不到 5 元，比漏掉一个客户的损失小得多。\n3. **强调价值**：自动回访提醒、撞单检测、日报自动生成，能为主管每天节省 1 小时。\n4. **给出选择**：预算有限可以先上标准版，之后按差价升级。\n5. **优惠要有条件**：年付可享 9 折，超过权限的折扣需走折扣审批流程，不要当场承诺。\n\n## 不要这样说\n\n- “这已经是最低价了”（把路堵死）\n- “我去帮您问问能不能打折”（客户会一直等降价）",
        tags: &["价格", "异议", "price", "objection"],
    },
    FixtureArticle {
        category: "产品知识/版本与价格",
        title: "产品版本对比：标准版、专业版、企业版 (Editions)",
        body: "我们提供三个版本，按坐席数和年付收费。\n\n| 版本 | 适合 | 主要功能 |\n|---|---|---|\n| 标准版 | 10 人以内的小团队 | 线索管理、通话记录、回访提醒 |\n| 专业版 | 10–100 人的电销团队 | 标准版全部功能，加上话术库、知识库、日报与考核、撞单检测 |\n| 企业版 | 100 人以上或多分公司 | 专业版全部功能，加上私有化部署、单点登录、API 对接、专属客户成功经理 |\n\n版本之间可以随时升级，按剩余时间补差价。报价以最新价目表为准，标准版起价每坐席每年 1,200 元。",
        tags: &["版本", "功能", "edition", "plan"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "退款政策 (Refund policy)",
        body: "## 适用范围\n\n首次购买的客户，自开通之日起 **7 天内** 可申请无理由全额退款。\n\n## 办理方式\n\n1. 客户提交退款申请，说明订单号；\n2. 销售在系统中登记，由主管审核；\n3. 财务在审核通过后 **5 个工作日内** 原路退回。\n\n超过 7 天的，按未使用的月份比例退费，已开具的发票需先作废或红冲。续费订单不适用无理由退款。",
        tags: &["退款", "售后", "refund"],
    },
    FixtureArticle {
        category: "产品知识/安装部署",
        title: "安装与部署指南 (Installation)",
        body: "## 云端版\n\n无需安装，注册后在浏览器中直接使用，支持 Chrome、Edge 和 Firefox 最新版本。\n\n## 私有化部署（企业版）\n\n- 服务器：2 核 8 GB 内存起步，推荐 Linux；\n- 数据库：小团队用内置 SQLite，50 人以上建议 PostgreSQL；\n- 部署时间：实施工程师远程协助，一般 1 个工作日内上线。\n\n安装完成后，管理员导入员工账号和线索，即可开始电访。",
        tags: &["安装", "部署", "install", "setup"],
    },
    FixtureArticle {
        category: "产品知识/竞品对比",
        title: "与主要竞品的对比要点 (Competitor comparison)",
        body: "客户提到正在用或正在比较其他 CRM 时，不要贬低对手，用事实对比：\n\n- **中文电销场景**：我们的话术库、激励跑马灯、每日电访计划是为电销团队设计的，通用 CRM 需要大量定制；\n- **撞单处理**：自动检测同一客户被多人跟进，并按归属规则处理，竞争对手多数靠人工；\n- **部署方式**：同时支持云端和私有化，数据可以留在客户自己的服务器；\n- **价格**：同等功能下总成本更低，且不按模块额外收费。\n\n如客户合同未到期，记录到期时间，设置回访提醒。",
        tags: &["竞品", "对比", "competitor"],
    },
    FixtureArticle {
        category: "异议处理",
        title: "客户说“把资料发我邮箱”怎么办 (Send me info by e-mail)",
        body: "“你把资料发我邮箱吧”往往是委婉的拒绝。直接答应发邮件，通话就结束了。\n\n## 建议做法\n\n1. 先答应：“好的，我马上发。”\n2. 再确认需求：“为了发给您最相关的资料，想了解一下您现在团队有多少人在打电话？”\n3. 约定下一步：“资料发过去后，我周三下午给您打个电话，花五分钟讲重点，可以吗？”\n\n发送的资料要短：一页产品介绍加一个客户案例，并在系统里记下邮箱和约定的回访时间。",
        tags: &["邮件", "资料", "异议", "email"],
    },
    FixtureArticle {
        category: "异议处理",
        title: "客户说“现在忙，稍后再打” (Busy, call back later)",
        body: "客户正在开会或很忙时，不要硬讲。\n\n- 用一句话说明来意和价值，争取一个具体时间：“那我明天上午十点再给您打，可以吗？”\n- 客户给了时间，就在系统中设置回访时间，按约定准时回电；\n- 客户没给时间，按回访规则 4 小时后再试，最多尝试 5 次。\n\n准时回电本身就能建立信任。",
        tags: &["忙", "回电", "回访", "busy"],
    },
    FixtureArticle {
        category: "销售技巧",
        title: "如何找到决策人 (Reaching the decision maker)",
        body: "接电话的人常常不是拍板的人。\n\n- 礼貌询问：“这类系统一般是哪位负责选型？老板还是销售负责人？”\n- 请接线人引荐，而不是绕过他；\n- 了解决策流程：谁使用、谁评估、谁批预算；\n- 和决策人通话时，谈结果（业绩、效率），少谈功能细节。\n\n在线索档案中记录决策人的姓名、职务和联系方式。",
        tags: &["决策人", "老板", "decision maker"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "合同条款说明 (Contract terms)",
        body: "标准合同要点：\n\n- **服务期限**：一般为一年，到期前 30 天提醒续约；\n- **付款方式**：年付，签约后 5 个工作日内付款开通；\n- **数据归属**：客户数据归客户所有，合同终止后 30 天内可导出；\n- **保密条款**：双方对合作中获知的商业信息保密；\n- **违约责任**：服务可用性低于 99.5% 按比例赔偿服务费。\n\n客户要求修改标准条款的，需法务审核。",
        tags: &["合同", "条款", "contract"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "发票开具说明 (Invoices)",
        body: "付款到账后开具发票：\n\n- 可开增值税普通发票或增值税专用发票（专票需提供开票资料：公司名称、税号、地址电话、开户行及账号）；\n- 电子发票 3 个工作日内发送到客户邮箱；\n- 发票抬头或税号填错的，可申请红冲后重开。\n\n开票申请在系统“订单”中提交，由财务处理。",
        tags: &["发票", "开票", "invoice"],
    },
    FixtureArticle {
        category: "产品知识",
        title: "免费试用流程 (Free trial)",
        body: "新客户可申请 **14 天免费试用**，专业版全部功能可用，最多 5 个账号。\n\n1. 销售在系统中为客户创建试用账号；\n2. 第 1 天安排 30 分钟线上演示；\n3. 第 7 天回访，了解使用情况；\n4. 试用期满前 3 天提醒转正式版，试用数据可保留。\n\n试用期内不需要付款，也不会自动扣费。",
        tags: &["试用", "演示", "trial"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "售后服务与支持时间 (Support hours)",
        body: "- 在线客服和电话支持：工作日 9:00–18:00；\n- 企业版客户：7×24 小时紧急支持热线；\n- 问题响应：一般问题 4 小时内响应，严重故障 30 分钟内响应；\n- 节假日期间只处理紧急故障。\n\n客户可通过系统内的“帮助”入口提交工单。",
        tags: &["售后", "客服", "支持", "support"],
    },
    FixtureArticle {
        category: "产品知识/数据安全",
        title: "数据安全与隐私保护 (Data security)",
        body: "客户常问：我们的客户资料放在你们那里安全吗？\n\n- 传输全程 HTTPS 加密，存储加密；\n- 按角色控制权限：电访员只能看到自己的线索和公海；\n- 每一次修改都有审计记录，谁在什么时候改了什么一目了然；\n- 每日自动备份，保留 30 天；\n- 企业版支持私有化部署，数据不出客户机房。\n\n我们不会把客户数据用于任何其他用途。",
        tags: &["安全", "隐私", "security"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "折扣审批流程 (Discount approval)",
        body: "优惠销售需要按权限审批：\n\n| 折扣 | 谁可以批 |\n|---|---|\n| 9 折及以上 | 销售本人 |\n| 8 折到 9 折 | 主管审批 |\n| 低于 8 折 | 经理审批 |\n\n在系统中提交“优惠销售申请”，写明客户、金额和理由，审批通过后才能报给客户。未经审批私自承诺折扣的，不予认可。",
        tags: &["折扣", "优惠", "审批", "discount"],
    },
    FixtureArticle {
        category: "异议处理",
        title: "客户说“暂时不需要” (No need right now)",
        body: "“不需要”常常意味着客户还没意识到问题。\n\n- 用问题引导：“现在团队的通话记录是怎么管理的？有没有出现过两个人同时跟一个客户的情况？”\n- 分享同行案例：某教育机构上线后，回访及时率提高到 95%；\n- 如果确实没有需求，礼貌结束，按回访规则 90 天后再联系，不要纠缠。",
        tags: &["需求", "异议", "no need"],
    },
    FixtureArticle {
        category: "销售技巧",
        title: "开场白技巧 (Opening lines)",
        body: "前 15 秒决定客户会不会听下去。\n\n1. 问候并确认对方身份；\n2. 一句话说明你是谁、为什么打来；\n3. 给出一个和客户相关的价值点；\n4. 用一个开放式问题把话题交给客户。\n\n示例：“王总您好，我是星河软件的小张。很多做教育培训的客户用我们的系统把回访率提高了三成，想请教一下您现在是怎么管理电话客户的？”",
        tags: &["开场白", "技巧", "opening"],
    },
    FixtureArticle {
        category: "政策制度",
        title: "续费与升级 (Renewal and upgrade)",
        body: "- 到期前 30 天系统自动提醒客户和负责的销售；\n- 老客户续费可享 95 折；\n- 中途升级版本，按剩余天数补差价，立即生效；\n- 到期未续费的，数据保留 60 天，期间续费可恢复全部数据。",
        tags: &["续费", "升级", "renewal"],
    },
    FixtureArticle {
        category: "服务规范",
        title: "电话礼仪与通话时间规范 (Calling hours and etiquette)",
        body: "- 只在工作时间拨打：上午 9:00–12:00，下午 14:00–18:00，避开午餐和午休；\n- 客户要求不再来电的，立即标记为勿扰，不得再拨打；\n- 每通电话都要记录时间、对象和结果；\n- 语气亲切，语速适中，先听后说。",
        tags: &["礼仪", "规范", "勿扰", "calling hours"],
    },
];

pub const SCRIPTS: &[FixtureScript] = &[
    FixtureScript {
        title: "标准开场白",
        category: "开场白",
        body: "{{lead.name}}您好，我是星河软件的{{agent.name}}。\n很多和{{lead.company}}一样的企业，用我们的系统把客户回访率提高了三成。\n想请教一下，您现在是怎么管理电话客户的？",
        shared: true,
    },
    FixtureScript {
        title: "价格异议应对",
        category: "异议处理",
        body: "理解您的顾虑，{{lead.name}}。价格确实是要考虑的重要因素。\n我们算一笔账：专业版每个坐席每天不到 5 元，漏掉一个客户的损失远不止这些。\n如果预算有限，也可以先从标准版开始，之后按差价升级。您看哪种更合适？",
        shared: true,
    },
    FixtureScript {
        title: "邀约线上演示",
        category: "促成",
        body: "{{lead.name}}，我给您安排一个 30 分钟的线上演示，用{{lead.company}}的实际场景走一遍。\n明天下午三点或者后天上午十点，哪个时间方便？",
        shared: true,
    },
    FixtureScript {
        title: "回访话术（我的草稿）",
        category: "回访",
        body: "{{lead.name}}您好，上次我们聊到{{lead.company}}的电访管理，资料您看过了吗？",
        shared: false,
    },
];

/// Writes the fixture articles as `viewer` (a supervisor or admin); returns their ids in order.
pub async fn seed_articles(db: &Db, viewer: &Viewer) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(ARTICLES.len());
    for a in ARTICLES {
        let tags: Vec<String> = a.tags.iter().map(|t| t.to_string()).collect();
        let fields = ArticleFields::parse(a.title, a.body, &tags).map_err(StoreError::Invalid)?;
        ids.push(kb::create(db, viewer, &fields, a.category).await?.id.0);
    }
    Ok(ids)
}

/// Writes the fixture scripts owned by `viewer`; returns their ids in order.
pub async fn seed_scripts(db: &Db, viewer: &Viewer) -> Result<Vec<ScriptId>> {
    let mut ids = Vec::with_capacity(SCRIPTS.len());
    for s in SCRIPTS {
        let fields =
            ScriptFields::parse(s.title, s.category, s.body).map_err(StoreError::Invalid)?;
        ids.push(scripts::create(db, viewer, &fields, s.shared).await?.id);
    }
    Ok(ids)
}

/// The demo's knowledge base and scripts: articles by the admin, shared scripts pinned for every
/// team, and agent1's private draft. Returns the shared scripts' ids, for demo calls to use.
pub async fn seed_demo(
    db: &Db,
    admin: &crate::auth::users::User,
    teams: &[leadline_domain::TeamId],
) -> Result<Vec<ScriptId>> {
    let admin_viewer = crate::auth::users::viewer(db, admin).await?;
    seed_articles(db, &admin_viewer).await?;
    let mut shared = Vec::new();
    for s in SCRIPTS.iter().filter(|s| s.shared) {
        let fields =
            ScriptFields::parse(s.title, s.category, s.body).map_err(StoreError::Invalid)?;
        shared.push(scripts::create(db, &admin_viewer, &fields, true).await?.id);
    }
    if let Some(first) = shared.first() {
        for team in teams {
            scripts::pin(db, &admin_viewer, *first, *team).await?;
        }
    }
    if let Some((agent, _)) = crate::auth::users::find_for_login(db, "agent1").await? {
        let agent_viewer = crate::auth::users::viewer(db, &agent).await?;
        for s in SCRIPTS.iter().filter(|s| !s.shared) {
            let fields =
                ScriptFields::parse(s.title, s.category, s.body).map_err(StoreError::Invalid)?;
            scripts::create(db, &agent_viewer, &fields, false).await?;
        }
    }
    Ok(shared)
}
