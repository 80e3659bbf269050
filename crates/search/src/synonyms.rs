//! A small synonym table of the trade, applied when a query is built (never when indexing), so
//! that 太贵了, 价格高 and 便宜点 all reach the article about price objections.

/// Groups of words a caller may use for one idea; any member brings in the others.
/// English words are given normalised (lower case, singular).
pub(crate) const GROUPS: &[&[&str]] = &[
    &[
        "价格",
        "价钱",
        "贵",
        "太贵",
        "便宜",
        "优惠",
        "折扣",
        "打折",
        "报价",
        "费用",
        "价位",
        "price",
        "cost",
        "expensive",
        "cheap",
        "cheaper",
        "pricing",
    ],
    &["折扣", "优惠", "打折", "让利", "特价", "discount", "rebate"],
    &["审批", "批准", "申请", "approval", "approve"],
    &["退款", "退钱", "退费", "退货", "refund", "reimburse"],
    &[
        "安装",
        "部署",
        "上线",
        "实施",
        "install",
        "installation",
        "setup",
        "deploy",
        "deployment",
    ],
    &[
        "竞品",
        "竞争对手",
        "对手",
        "对比",
        "比较",
        "competitor",
        "comparison",
        "compare",
        "versus",
        "vs",
    ],
    &[
        "邮件",
        "邮箱",
        "发邮件",
        "资料",
        "email",
        "mail",
        "brochure",
    ],
    &[
        "忙",
        "没空",
        "没时间",
        "开会",
        "回电",
        "再打",
        "稍后",
        "busy",
        "later",
        "callback",
    ],
    &[
        "决策人",
        "老板",
        "负责人",
        "领导",
        "拍板",
        "decision",
        "decider",
        "boss",
        "manager",
    ],
    &[
        "合同",
        "协议",
        "条款",
        "签约",
        "contract",
        "agreement",
        "term",
    ],
    &[
        "发票", "专票", "普票", "开票", "税票", "invoice", "receipt", "tax",
    ],
    &[
        "试用",
        "试用期",
        "试用版",
        "免费试用",
        "体验",
        "trial",
        "demo",
    ],
    &[
        "售后",
        "客服",
        "支持",
        "服务时间",
        "工作时间",
        "support",
        "service",
        "hour",
    ],
    &[
        "安全",
        "隐私",
        "保密",
        "加密",
        "泄露",
        "security",
        "privacy",
        "encryption",
        "secure",
    ],
    &[
        "版本",
        "标准版",
        "专业版",
        "企业版",
        "旗舰版",
        "edition",
        "version",
        "plan",
    ],
    &["需求", "需要", "不需要", "用不上", "need", "interest"],
];

/// Every other member of each group that `term` belongs to.
pub(crate) fn expand(term: &str) -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .filter(move |g| g.contains(&term))
        .flat_map(|g| g.iter().copied())
        .filter(move |w| *w != term)
}

#[cfg(test)]
mod tests {
    #[test]
    fn price_words_reach_each_other() {
        let got: Vec<&str> = super::expand("贵").collect();
        assert!(got.contains(&"价格"));
        assert!(got.contains(&"便宜"));
        assert!(!got.contains(&"贵"));
        assert_eq!(super::expand("无关").count(), 0);
    }
}
