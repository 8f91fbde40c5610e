package entity

// Location levels, from the province down to the room. A chain of parts
// is an address when it has a part at levelVillage or below.
const (
	levelProvince = 1
	levelCity     = 2
	levelDistrict = 3
	levelTown     = 4
	levelVillage  = 5 // village, community, road
	levelEstate   = 6 // estate, group, landmark
	levelNumber   = 7 // 号
	levelBuilding = 8 // 栋, 楼, 单元, 室
)

// suffixRule describes a location suffix: the level of the part it ends,
// how long the name before it may be, and which runes after it make it
// another word (市 in 市场, 村 in 村民).
type suffixRule struct {
	suffix   string
	level    int
	maxName  int
	digits   bool   // the name is digits or letters (228号, G2栋, 3单元)
	numerals bool   // the name may be Chinese numerals (三组)
	chainReq bool   // only right after another part (号, 栋…)
	notAfter string // runes that, following the suffix, make it another word
	// chainedAfter are runes of notAfter allowed when the part continues
	// a chain with a name of two runes or more (板江乡小水村民).
	chainedAfter string
	minName      int  // minimum name length in runes (at least 1 unless empty)
	empty        bool // the suffix alone is a name (南站)
	landmark     bool // a landmark (公园, 车站): not an address part
	// boundary: the suffix must end a word: a stop, punctuation or the
	// end of the text follows (峒河是; not 滨河苑, 色河铺镇).
	boundary bool
}

// locationSuffixes, longest first within the same first rune (built into
// suffixIndex).
var locationSuffixes = []suffixRule{
	{suffix: "特别行政区", level: levelProvince, maxName: 2},
	{suffix: "自治区", level: levelProvince, maxName: 4},
	{suffix: "省", level: levelProvince, maxName: 2, notAfter: "委长级内外里份会道政厅"},
	{suffix: "自治州", level: levelCity, maxName: 6},
	{suffix: "市", level: levelCity, maxName: 4, notAfter: "场民长内外里容面值价级区中监直属辖路街"},
	{suffix: "高新区", level: levelDistrict, maxName: 4, empty: true},
	{suffix: "开发区", level: levelDistrict, maxName: 5},
	{suffix: "经开区", level: levelDistrict, maxName: 4, empty: true},
	{suffix: "新区", level: levelDistrict, maxName: 4},
	{suffix: "片区", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "区", level: levelDistrict, maxName: 4, notAfter: "域别间分块长内外里级属", minName: 1},
	{suffix: "县", level: levelDistrict, maxName: 4, notAfter: "长级里内外区直域", minName: 1},
	{suffix: "街道办事处", level: levelTown, maxName: 5},
	{suffix: "街道", level: levelTown, maxName: 5, notAfter: "办两上边口", minName: 2},
	{suffix: "镇", level: levelTown, maxName: 5, notAfter: "长上里党内外", minName: 1},
	{suffix: "乡", level: levelTown, maxName: 4, notAfter: "村镇下里亲长政土党委间愁音", minName: 1},
	{suffix: "社区", level: levelVillage, maxName: 6, notAfter: "居工服医卫干书内里", minName: 2},
	{suffix: "村民小组", level: levelEstate, maxName: 5, numerals: true},
	{suffix: "村", level: levelVillage, maxName: 4, notAfter: "民委里上干长集级支内外务组庄镇医卫部道路子", chainedAfter: "民里", minName: 1},
	{suffix: "屯", level: levelVillage, maxName: 3, minName: 2},
	{suffix: "农场", level: levelVillage, maxName: 5, minName: 2},
	{suffix: "组", level: levelEstate, maxName: 4, numerals: true, digits: true, notAfter: "长织成建合员委上里", minName: 1},
	{suffix: "大道", level: levelVillage, maxName: 5, minName: 2},
	{suffix: "大街", level: levelVillage, maxName: 5, minName: 1},
	{suffix: "国道", level: levelVillage, maxName: 4, digits: true},
	{suffix: "省道", level: levelVillage, maxName: 4, digits: true},
	{suffix: "高速", level: levelVillage, maxName: 4, minName: 2, notAfter: "公路费口"},
	{suffix: "胡同", level: levelVillage, maxName: 4, minName: 1},
	{suffix: "路口", level: levelVillage, maxName: 5, minName: 2},
	{suffix: "路", level: levelVillage, maxName: 5, notAfter: "面灯段边上线费况人由网基牌旁况程途过", minName: 1},
	{suffix: "街", level: levelVillage, maxName: 4, notAfter: "上头边坊区面巷", minName: 2},
	{suffix: "巷", level: levelVillage, maxName: 4, notAfter: "子里内口", minName: 2},
	{suffix: "二环", level: levelVillage, maxName: 1},
	{suffix: "小区", level: levelEstate, maxName: 7, minName: 2},
	{suffix: "花园", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "家园", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "新村", level: levelEstate, maxName: 5, minName: 2},
	{suffix: "公寓", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "华庭", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "公馆", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "山庄", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "家属院", level: levelEstate, maxName: 8, minName: 2},
	{suffix: "家属区", level: levelEstate, maxName: 8, minName: 2},
	{suffix: "广场", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "大厦", level: levelEstate, maxName: 6, minName: 2},
	{suffix: "苑", level: levelEstate, maxName: 5, minName: 2},
	{suffix: "城", level: levelEstate, maxName: 4, minName: 2, notAfter: "市区管乡关中里内外镇墙建投际"},
	{suffix: "森林公园", level: levelEstate, maxName: 6, minName: 2, landmark: true},
	{suffix: "公园", level: levelEstate, maxName: 6, minName: 2, landmark: true},
	{suffix: "水库", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "汽车站", level: levelEstate, maxName: 5, minName: 1, landmark: true},
	{suffix: "火车站", level: levelEstate, maxName: 5, minName: 1, landmark: true},
	{suffix: "公交站", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "南站", level: levelEstate, maxName: 4, empty: true, landmark: true},
	{suffix: "北站", level: levelEstate, maxName: 4, empty: true, landmark: true},
	{suffix: "东站", level: levelEstate, maxName: 4, empty: true, landmark: true},
	{suffix: "西站", level: levelEstate, maxName: 4, empty: true, landmark: true},
	{suffix: "服务区", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "工业园", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "产业园", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "隧道", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "大桥", level: levelEstate, maxName: 5, minName: 2, landmark: true},
	{suffix: "桥", level: levelEstate, maxName: 4, minName: 2, notAfter: "梁下上头面", landmark: true},
	{suffix: "故居", level: levelEstate, maxName: 4, minName: 2, landmark: true},
	{suffix: "河", level: levelEstate, maxName: 3, minName: 1, boundary: true, notAfter: "边中里道水南北东西流段堤岸床滩谷沟口村镇乡区县市路街子铺坝湾头庄寨屯源堡塘坪场湖池渠", landmark: true},
	{suffix: "市场", level: levelEstate, maxName: 6, minName: 2, notAfter: "监管价化", landmark: true},
	{suffix: "号院", level: levelNumber, maxName: 5, digits: true, chainReq: true},
	{suffix: "号楼", level: levelBuilding, maxName: 5, digits: true, chainReq: true},
	{suffix: "号", level: levelNumber, maxName: 6, digits: true, chainReq: true, notAfter: "码文线"},
	{suffix: "栋", level: levelBuilding, maxName: 4, digits: true, chainReq: true},
	{suffix: "幢", level: levelBuilding, maxName: 4, digits: true, chainReq: true},
	{suffix: "单元", level: levelBuilding, maxName: 3, digits: true, chainReq: true},
	{suffix: "室", level: levelBuilding, maxName: 5, digits: true, chainReq: true},
	{suffix: "楼", level: levelBuilding, maxName: 3, digits: true, chainReq: true, notAfter: "房盘层道梯顶下上"},
	{suffix: "层", level: levelBuilding, maxName: 3, digits: true, chainReq: true},
}

// orgSuffixes end organisation names. gov marks public bodies named by
// their function (住建局), which count even without a place.
var orgSuffixes = []struct {
	suffix   string
	gov      bool
	notAfter string
}{
	{"股份有限公司", false, ""}, {"有限责任公司", false, ""}, {"有限公司", false, ""}, {"分公司", false, ""},
	{"公司", false, ""}, {"集团", false, ""}, {"工作室", false, ""}, {"超市", false, ""}, {"商场", false, ""},
	{"商行", false, ""}, {"酒店", false, ""}, {"宾馆", false, ""}, {"饭店", false, ""}, {"餐厅", false, ""},
	{"夜宵店", false, ""}, {"店", false, "面铺员主家里内长子镇村乡"}, {"医院", false, ""}, {"卫生院", false, ""},
	{"保健院", false, ""}, {"诊所", false, ""}, {"卫生所", false, ""}, {"培训学校", false, ""},
	{"学校", false, ""}, {"大学", false, "生"}, {"学院", false, ""}, {"中学", false, "生"}, {"小学", false, "生语"},
	{"幼儿园", false, ""}, {"附中", false, ""}, {"附小", false, ""}, {"驾校", false, ""}, {"党校", false, ""},
	{"银行", false, "卡"}, {"农商行", false, ""}, {"信用社", false, ""}, {"研究院", false, ""},
	{"设计院", false, ""}, {"法院", false, ""}, {"检察院", false, ""}, {"电视台", false, ""},
	{"项目部", false, ""}, {"委员会", true, ""}, {"居委会", false, ""}, {"村委会", false, ""},
	{"政府", false, "部门网官"}, {"办事处", false, ""}, {"管理处", false, ""}, {"办公室", true, ""},
	{"派出所", false, ""}, {"车管所", false, ""}, {"研究所", false, ""}, {"事务所", false, ""},
	{"大队", true, "长"}, {"支队", true, "长"}, {"中队", true, "长"}, {"环卫队", false, ""},
	{"中心", false, "城区位小站"}, {"液化气站", false, ""}, {"加油站", false, ""}, {"供暖站", false, ""},
	{"供热站", false, ""}, {"救助站", false, ""}, {"交通部", false, ""},
	{"厂", false, "家区长房里"}, {"采石场", false, ""}, {"物业", false, "费公管服"}, {"燃气", false, "公表费管灶"},
	{"热力", false, "公"}, {"局", true, "长面势部"}, {"厅", true, "长"}, {"委", true, "员会书"},
	{"计生办", false, "理公事"}, {"征收办", false, "理公事"}, {"综治办", false, "理公事"}, {"移民办", false, "理公事"},
	{"医保办", false, "理公事"}, {"信访办", false, "理公事"}, {"扶贫办", false, "理公事"}, {"拆迁办", false, "理公事"},
	{"棚改办", false, "理公事"}, {"城改办", false, "理公事"}, {"人防办", false, "理公事"}, {"创卫办", false, "理公事"},
	{"文明办", false, "理公事"}, {"金融办", false, "理公事"}, {"应急办", false, "理公事"}, {"供热办", false, "理公事"},
	{"发改委", false, ""}, {"卫健委", false, ""}, {"教委", false, ""}, {"纪委", false, ""},
	{"政法委", false, ""}, {"管委会", false, ""},
	{"省委", false, ""}, {"市委", false, ""}, {"县委", false, ""}, {"区委", false, ""},
}

// orgNotBefore are runes that, right before a suffix, make it another word
// (布局, 大厅, 村干部).
var orgNotBefore = map[string]string{
	"局":  "格布结当大全饭赌骗开残出邮",
	"厅":  "大客营餐舞展",
	"委":  "市县区省镇乡党村居",
	"店":  "商门饭药小分",
	"中心": "市城",
}

// orgGeneric are names that, before an organisation suffix, leave it a
// generic mention (物业公司, 燃气公司, 县政府).
var orgGeneric = []string{
	"物业", "燃气", "天然气", "自来水", "热力", "供热", "供暖", "房地产", "快递", "出租车", "保险",
	"报废", "建筑", "设计", "电力", "供电", "煤气", "劳务", "派遣", "科技", "网络", "公交", "客运",
	"培训", "中小", "公立", "私立", "民办", "民营", "公办", "普惠", "普惠性", "附近", "周边", "当地", "各",
	"该", "这家", "那家", "一家", "这所", "那所", "一所", "这个", "那个", "本", "其", "此", "有关", "相关",
	"上级", "下属", "主管", "人民", "政府", "服务", "运营", "施工", "工程", "劳动", "建设",
	"村", "镇", "乡", "县", "区", "市", "省", "街道", "社区", "中央", "地方", "国家", "全国", "我们", "我",
	"你们", "他们", "孩子", "小孩", "儿子", "女儿", "学生", "外地", "本地", "农村", "城市", "城区", "乡镇",
	"私人", "个人", "大型", "小型", "大", "小", "新", "老", "原", "现", "好", "别的", "其他", "其它",
	"养猪", "养殖", "木器", "工作", "行政", "职能", "执法", "业务", "财务", "综合", "客服", "维修", "抢险",
	"政务服务", "政务", "行政服务", "文化艺术", "活动", "办事", "4s", "4S", "各个", "所有", "哪个", "什么",
	"一中", "重点", "普通", "高等", "职业", "民", "公", "商", "饭", "药", "门", "夜宵", "麻将", "影",
	"小区", "临时", "一次", "社会", "中心", "公园", "上游", "下游", "杂货", "便利", "小卖", "水果", "烧烤",
	"早餐", "小吃", "五金", "副食", "修车", "修理", "汽修", "地产", "合法", "专业", "外包", "正规",
}

// hardStops never occur inside a name: a backward scan for a name's start
// stops at them.
const hardStops = "的了在是我你他她它们把被给将就都也还又很最更这那该此其个些每各无不没要会能可请让使等说问住去往过经已曾并而且但若如即之称叫做当着吗呢吧啊么呀哦哈嘛您咱谁啥怎咋座条来像内內系"

// orgStops end an organisation name on its left (会, 个, 所 and 住 may be
// inside one: 委员会, 研究所, 住建局; 有限, 顾问 and 新能源 are passed
// by orgNameStart).
const orgStops = "的了在是我你他她它们把被给将就都也还又很最更这那该此其些每各无有现归不没要能可请让使等说问以由掉去往过经已曾并而且但若如即之称叫做当着吗呢吧啊么呀哦哈嘛您咱谁啥怎咋条像内內号从到向对于为和与及或至"

// softStops may occur inside a name (和平路, 向阳街); they stop the scan
// only when no location part came right before.
const softStops = "和与向对为于以由因从到及或所至回进出离入穿沿满有现归象时"

// stopWords end a name on its left: the name starts right after them.
var stopWords = []string{
	"家住", "住在", "位于", "来自", "就读", "面临", "上学", "居住", "附近", "旁边", "对面", "门口", "里面", "以及", "还有",
	"反映", "反应", "投诉", "举报", "咨询", "询问", "联系", "拨打", "要求", "请求", "督促", "希望",
	"通过", "发现", "看到", "前往", "地址", "地点", "地处", "座落", "坐落", "本人", "关于", "对于",
	"由于", "目前", "现在", "最近", "已经", "一直", "作为", "属于", "隶属", "靠近", "紧邻", "距离",
	"经过", "沿线", "包括", "例如", "比如", "购买", "购房", "买房", "办理", "落户", "迁出", "迁入",
	"告知", "回复", "答复", "负责", "处理", "解决", "协调", "调查", "查处", "监管", "建议",
	"要", "请", "找", "找到", "致电", "拨", "打", "送往", "搭乘", "乘坐", "承包", "承建", "提供",
	"强烈", "严查", "责成", "敦促", "监督", "指导", "批评", "表扬", "感谢", "尊敬的", "领导", "书记",
	"市长", "县长", "区长", "局长", "镇长", "村长", "主任", "校长", "院长", "老师", "业主", "居民",
	"村民", "市民", "住户", "用户", "客户", "家长", "群众", "百姓", "老百姓", "学生", "员工", "职工",
	"工人", "司机", "我", "我们", "你们", "他们", "大家", "全体", "广大", "整个",
	"入住", "收房", "交房", "上班", "工作", "打工", "务工", "读书", "上学", "就医", "看病", "报名",
	"接种", "缴纳", "缴费", "申请", "报销", "到达", "回到", "进入", "离开", "开车", "驾车",
	"行驶", "经营", "开办", "开设", "修建", "施工", "改造", "拆除", "新建", "扩建",
	"占用", "侵占", "出资", "收取", "乱收", "停", "停止", "恢复", "开通", "安装", "更换",
	"推动", "引进", "参观", "报道", "宣传", "公示", "发布", "出台", "听说", "得知", "据说", "认为",
	"上级", "新冠", "疫情", "治理", "整治", "参加", "加入", "参与",
	"给予", "给", "被", "让", "使", "任何", "所有", "选择", "配套", "自建", "性质", "一级", "二级",
	"三级", "进行", "成立", "当初", "根据", "按照", "依据", "难道", "唯有", "只有", "流入", "连通",
	"呼吁", "代表", "精美", "秋季", "春季", "夏季", "冬季", "非得", "感谢", "落实", "清除", "涉及",
	"影响", "就算", "夜晚", "晚上", "白天", "早上", "中午", "下午", "上午", "凌晨", "深夜", "半夜",
	"公立", "私立", "民办", "公办", "一所", "这所", "那所", "每所", "一家", "这家", "那家", "每家",
	"一个", "几个", "各个", "多个", "整个", "这个", "那个", "一座", "一条", "这条", "那条", "真正",
	"上游", "下游", "情况", "了解", "一下", "问下", "咨询下", "问问", "当地", "楼下", "楼上", "完善", "开始",
	"完成", "一次", "临时", "换掉", "重视", "电话", "省考", "国考", "一名", "一位", "普通", "通知", "知道",
	"导致", "造成", "依靠", "上报", "扩大", "沟通", "允许", "加快", "搬离", "谢谢", "有关", "相关", "可以",
	"所以", "多家", "几家", "非法", "违法", "走", "横跨", "限制", "再次", "破坏", "移交", "整体", "部分", "至今",
	"孩子", "小孩", "读", "检查", "指定", "甲方", "乙方", "两家",
	"严损", "大煞", "望", "规定", "无证", "尽快", "建好", "干扰", "公布", "考上", "督促", "周边", "周围", "附近的", "全市", "全县", "全区", "全镇", "全村", "全省",
}

// placeStopWords end a place name on its left but may occur inside an
// organisation's name: verbs of repair (修理移动路; 汽车修理厂) and
// company words (华油兴能公司龙泉驿片区).
var placeStopWords = []string{"物业", "投资", "规划", "修", "修理", "维修", "修复", "修缮", "修好", "公司", "集团", "学院", "大学", "医院", "学校", "中学", "小学"}

// oneCharNames are single runes that never name a place on their own
// (该县, 本市, 全村, 城区…).
const oneCharNames = "跨级今贵本该全我各此每城市县区乡镇村省外原大小老新上下前后左右这那其哪何整同邻郊地辖片景园社街农县进出山河路道边内里口中东西南北一二三四五六七八九十几多半家故他异遇修节"

// genericPlaceNames are names that make a location suffix a common noun
// (马路, 水泥路, 县城, 小区…) rather than a place.
var genericPlaceNames = []string{
	"马", "道", "公", "水泥", "泥巴", "泥", "沥青", "土", "石子", "柏油", "硬化", "断头", "进村", "通村",
	"主干", "村级", "支", "出", "走", "修", "铁", "网", "电", "思", "线", "门", "老", "新", "大", "小",
	"城乡", "乡村", "农村", "城", "城中", "市", "县", "该", "本", "我", "各", "每", "此",
	"居民", "住宅", "商业", "工业", "生活", "周边", "附近", "当地", "本地", "外地", "周围",
	"快速", "乡镇", "这个", "那个", "整个", "一个", "这", "那", "几个", "两个", "所有", "其他",
	"其它", "别的", "一座", "这座", "那座", "过", "普通", "老旧", "安置", "回迁", "商品",
	"保障", "限价", "棚户", "周", "附", "旧", "偏远", "贫困", "山区", "平原", "沿街", "临街", "街",
	"中心", "城郊", "近郊", "远郊", "省", "地级", "县级", "市级", "区级", "镇级", "乡级", "村里",
	"各个", "一些", "有些", "部分", "好多", "很多", "许多", "多个", "同一", "相邻", "隔壁", "对面",
	"市中心", "闹市", "客运", "政府", "具体", "新的", "所在", "国家", "國家", "平日", "现有", "市政", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "主", "干", "辅",
	"公交", "地下", "人行", "高架", "环", "外环", "内环", "二", "城市", "商业步行", "步行", "乡间",
	"村村", "村组", "上", "下", "前", "后", "左", "右", "东", "西", "南", "北", "中", "里", "外",
	"自来水", "天然气", "集贸", "农贸", "菜", "果", "蔬菜", "批发", "综合", "超", "在", "到",
	"车辆", "服务", "村庄", "母亲", "生命", "家属", "学", "两大", "动车", "高速", "宿舍", "办公", "森林", "国家森林", "國家森林", "景", "风景", "开发",
}

// builtinPlaces are names recognised without a suffix: provinces (short
// forms), municipalities and large cities.
var builtinPlaces = []string{
	"北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
	"福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
	"甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
	"石家庄", "太原", "沈阳", "长春", "哈尔滨", "南京", "杭州", "合肥", "福州", "南昌", "济南",
	"郑州", "武汉", "长沙", "广州", "深圳", "海口", "成都", "贵阳", "昆明", "西安", "兰州", "西宁",
	"呼和浩特", "南宁", "拉萨", "银川", "乌鲁木齐", "大连", "青岛", "厦门", "宁波", "苏州", "珠海",
}

// tailBlock lists, per suffix, runes that may not end the name before it:
// they make a common word with the suffix (城市, 超市, 小区, 农村, 马路).
var tailBlock = map[string]string{
	"市":  "城超门都夜股楼车上集早菜黑",
	"区":  "城小社景园校厂郊山市辖片老灾矿林牧宅民活业护车发园禁地街",
	"县":  "本该全各外",
	"镇":  "城乡",
	"乡":  "城家故他异下老",
	"村":  "农乡渔新",
	"路":  "道公马修铁网线思出走进通上遇泥油头封链行弯",
	"桥":  "天吊浮便",
	"路口": "出进十",
	"街道": "府体",
	"组":  "织小",
	"城":  "县省京进区",
	"河":  "下上进入过渡跳小大运护冰天条",
	"小区": "个该各",
}

// wholeOrgNames are organisation suffixes that are complete names on their
// own (计生办, 发改委).
var wholeOrgNames = map[string]bool{
	"计生办": true, "征收办": true, "综治办": true, "移民办": true, "医保办": true, "信访办": true,
	"扶贫办": true, "拆迁办": true, "棚改办": true, "城改办": true, "人防办": true, "创卫办": true,
	"文明办": true, "金融办": true, "应急办": true, "供热办": true, "发改委": true, "卫健委": true,
	"教委": true, "纪委": true, "政法委": true, "交通部": true, "环卫队": true,
}

// adminOnlyOrg are suffixes that name a body with an administrative
// division alone (A5区政府, L市委).
var adminOnlyOrg = map[string]bool{"政府": true, "人民政府": true, "委": true, "党委": true, "办事处": true,
	"省委": true, "市委": true, "县委": true, "区委": true}

// adminNamedOrg are suffixes that, besides the public bodies (gov), name
// an organisation with an administrative division alone (商洛市丹凤县驾校);
// others need a name (县医院, 市公司 are generic).
var adminNamedOrg = map[string]bool{"驾校": true, "党校": true, "法院": true, "检察院": true, "电视台": true}
