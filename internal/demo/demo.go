// Package demo fills a store with data that looks like a real shop from
// the seed policies: the departments they name, agents in each, customers
// with Chinese and English names, and tickets across every channel and
// category. Bulk builds a large store quickly for benchmarks.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Departments are the ones the seed policies name.
var Departments = []team.NewDepartment{
	{Slug: "customer-service", Name: "Customer service", NameZh: "客服部"},
	{Slug: "after-sales", Name: "After-sales", NameZh: "售后服务部"},
	{Slug: "warehouse", Name: "Warehouse", NameZh: "仓库"},
	{Slug: "storage-transport", Name: "Storage & transport", NameZh: "储运部"},
	{Slug: "finance", Name: "Finance", NameZh: "财务部"},
	{Slug: "legal", Name: "Legal", NameZh: "法务部"},
	{Slug: "quality", Name: "Quality", NameZh: "质检部"},
	{Slug: "management", Name: "Management", NameZh: "管理层"},
	{Slug: "customer-relations", Name: "Customer relations", NameZh: "客户关系部"},
	{Slug: "technical-support", Name: "Technical support", NameZh: "技术支持部"},
}

// staffPlan puts people in departments with the roles the seeds describe.
var staffPlan = []struct {
	name, email, role, lang string
	depts                   []string
}{
	{"陈静", "chen.jing", "supervisor", "zh-CN", []string{"customer-service", "after-sales"}},
	{"李娜", "li.na", "agent", "zh-CN", []string{"customer-service"}},
	{"王磊", "wang.lei", "agent", "zh-CN", []string{"customer-service"}},
	{"Emily Carter", "emily.carter", "agent", "en", []string{"customer-service"}},
	{"张伟", "zhang.wei", "agent", "zh-CN", []string{"after-sales"}},
	{"刘洋", "liu.yang", "agent", "zh-CN", []string{"after-sales"}},
	{"赵敏", "zhao.min", "staff", "zh-CN", []string{"warehouse"}},
	{"孙浩", "sun.hao", "staff", "zh-CN", []string{"storage-transport"}},
	{"周芳", "zhou.fang", "staff", "zh-CN", []string{"finance"}},
	{"吴刚", "wu.gang", "staff", "zh-CN", []string{"legal"}},
	{"郑丽", "zheng.li", "staff", "zh-CN", []string{"quality"}},
	{"黄总", "huang.zong", "supervisor", "zh-CN", []string{"management"}},
	{"Daniel Brooks", "daniel.brooks", "agent", "en", []string{"customer-relations"}},
	{"马超", "ma.chao", "agent", "zh-CN", []string{"technical-support"}},
	{"林审计", "lin.audit", "auditor", "zh-CN", nil},
}

var (
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	givenNames = []string{"芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "晓东", "雪梅"}
	enFirst    = []string{"Olivia", "James", "Sophia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Grace", "Henry"}
	enLast     = []string{"Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Lee", "Walker", "Hall", "Young"}
	tiers      = []string{"", "", "", "silver", "gold", "vip"}
)

// scenario is a kind of contact from the seeds, in both languages.
type scenario struct {
	category, subjectZh, bodyZh, subjectEn, bodyEn, dept string
}

var scenarios = []scenario{
	{"consultation", "请问这件羊毛大衣的尺码怎么选？", "我身高165，体重52公斤，平时穿M码，这款大衣应该选哪个尺码？面料是纯羊毛吗？", "Which size for the wool coat?", "I'm 165 cm and 52 kg and usually wear M. Which size should I pick? Is it pure wool?", "customer-service"},
	{"order", "订单{order}能改地址吗", "刚下单，地址写错了，能帮我改成上海市浦东新区张江路88号吗？", "Can I change the address of order {order}?", "I just ordered and typed the wrong address. Please change it to 88 Zhangjiang Rd, Pudong, Shanghai.", "customer-service"},
	{"logistics", "快递三天没有更新了", "订单{order}的物流信息三天没有更新，请帮忙查一下包裹在哪里。", "Tracking has not moved for three days", "The tracking for order {order} has not updated in three days. Where is my parcel?", "storage-transport"},
	{"promotion", "满减优惠没有生效", "活动写着满300减50，我买了328元，结算时没有减，请帮我看看。", "Discount was not applied", "The offer says 50 off orders over 300, my order was 328 and no discount was applied at checkout.", "customer-service"},
	{"return_exchange", "连衣裙尺码偏小，申请换货", "收到的连衣裙偏小，想换大一号，吊牌还在，没有穿过。订单号{order}。", "Dress runs small, exchange please", "The dress I received is too small. I'd like one size up; tags still on, never worn. Order {order}.", "after-sales"},
	{"return_exchange", "商品有破损，要求退货", "收到时外包装完好，但是衣服袖口有开线，附上照片，要求退货退款。", "Item arrived damaged, return please", "The packaging was fine but the sleeve seam is open. Photos attached. I want to return it for a refund.", "after-sales"},
	{"repair", "内衣肩带断了，可以维修吗", "买了两个月，肩带扣坏了，请问可以维修吗？需要多长时间？", "Bra strap broke, can it be repaired?", "Bought two months ago and the strap hook broke. Can you repair it and how long will it take?", "after-sales"},
	{"complaint", "客服态度太差", "昨天打电话咨询退款，客服很不耐烦，还挂了我电话，我要投诉。", "Complaint about rude service", "I called yesterday about my refund and the agent was impatient and hung up on me. I want to complain.", "management"},
	{"billing", "重复扣款", "订单{order}被扣了两次款，请尽快退还多扣的金额。", "Charged twice", "I was charged twice for order {order}. Please refund the duplicate payment.", "finance"},
	{"feedback", "建议增加大码", "你们的款式很好看，但是大码太少了，希望能多出一些XL、XXL。", "Please add larger sizes", "Love your styles but there are few large sizes. Please offer more XL and XXL.", "customer-relations"},
	{"other", "发票怎么开", "公司报销需要增值税发票，请问怎么申请？", "How do I get an invoice?", "I need a VAT invoice for my company. How do I request one?", "finance"},
}

var replies = []struct{ zh, en string }{
	{"您好，已收到您的问题，我们正在核实，稍后回复您。", "Hello, we have your request and are checking; we'll get back to you shortly."},
	{"您好，已为您处理，请查收。如有其他问题随时联系我们。", "Hello, this is done. Let us know if there is anything else."},
	{"抱歉给您带来不便，我们将为您安排换货，请将商品寄回。", "Sorry for the trouble. We will arrange an exchange; please send the item back."},
}

// channelsByWeight makes email and chat the common channels.
var channelsByWeight = []string{"email", "email", "email", "chat", "chat", "web_form", "portal", "phone", "wechat", "wechat", "sms", "api"}

// Services are what Seed writes through.
type Services struct {
	Team      *team.Service
	Customers *customer.Service
	Tickets   *ticket.Service
}

// Result tells what Seed made.
type Result struct {
	Departments, Staff, Customers, Tickets int
}

// Seed creates departments, staff, customers and tickets tickets spread
// over the 60 days before now, written through the services so the data
// carries audit trails and events like real use. Staff get no password;
// the caller sets one for the accounts it wants to sign in with. Seed is
// for an empty store.
func Seed(ctx context.Context, s Services, now time.Time, tickets int, seed uint64) (Result, error) {
	ctx = kefu.WithActor(ctx, kefu.System)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var res Result
	deptIDs := map[string]string{}
	for _, d := range Departments {
		dep, err := s.Team.CreateDepartment(ctx, d)
		if err != nil {
			return res, fmt.Errorf("demo: department %s: %w", d.Slug, err)
		}
		deptIDs[d.Slug] = dep.ID
		res.Departments++
	}
	deptStaff := map[string][]string{}
	for _, p := range staffPlan {
		st, err := s.Team.CreateStaff(ctx, team.NewStaff{Email: p.email + "@demo.kefu.local", Name: p.name,
			Role: kefu.Role(p.role), Language: p.lang, Departments: p.depts})
		if err != nil {
			return res, fmt.Errorf("demo: staff %s: %w", p.email, err)
		}
		for _, d := range p.depts {
			if p.role == "agent" || p.role == "supervisor" || p.role == "staff" {
				deptStaff[d] = append(deptStaff[d], st.ID)
			}
		}
		res.Staff++
	}
	nCustomers := max(10, tickets*2/5)
	custIDs := make([]string, 0, nCustomers)
	custLang := map[string]string{}
	for i := range nCustomers {
		in := newCustomer(rng, i)
		c, err := s.Customers.Create(ctx, in)
		if err != nil {
			return res, fmt.Errorf("demo: customer %d: %w", i, err)
		}
		custIDs = append(custIDs, c.ID)
		custLang[c.ID] = in.Language
		res.Customers++
	}
	// Tickets are created in time order so ids (time-ordered) and
	// created_at agree, as they do in real use.
	times := make([]time.Time, tickets)
	for i := range times {
		times[i] = now.Add(-time.Duration(rng.Int64N(int64(60 * 24 * time.Hour)))).Truncate(time.Microsecond)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i, at := range times {
		if err := seedTicket(ctx, s, rng, at, now, custIDs, custLang, deptIDs, deptStaff); err != nil {
			return res, fmt.Errorf("demo: ticket %d: %w", i, err)
		}
		res.Tickets++
	}
	return res, nil
}

func newCustomer(rng *rand.Rand, i int) customer.NewCustomer {
	var in customer.NewCustomer
	if rng.IntN(4) == 0 {
		first, last := pick(rng, enFirst), pick(rng, enLast)
		in.Name, in.Language = first+" "+last, "en"
		in.Identities = []customer.NewIdent{{Kind: "email", Value: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i)}}
	} else {
		in.Name, in.Language = pick(rng, surnames)+pick(rng, givenNames), "zh-CN"
		in.Identities = []customer.NewIdent{{Kind: "phone", Value: fmt.Sprintf("+86 1%02d %04d %04d", 30+rng.IntN(60), rng.IntN(10000), i%10000)}}
		if rng.IntN(2) == 0 {
			in.Identities = append(in.Identities, customer.NewIdent{Kind: "email", Value: fmt.Sprintf("user%d@example.cn", i)})
		}
		if rng.IntN(3) == 0 {
			in.Identities = append(in.Identities, customer.NewIdent{Kind: "wechat", Value: fmt.Sprintf("wx_user%04d", i)})
		}
	}
	in.Tier = pick(rng, tiers)
	if rng.IntN(3) == 0 {
		in.Birthday = fmt.Sprintf("%d-%02d-%02d", 1965+rng.IntN(40), 1+rng.IntN(12), 1+rng.IntN(28))
	}
	return in
}

func seedTicket(ctx context.Context, s Services, rng *rand.Rand, at, now time.Time, custIDs []string, custLang, deptIDs map[string]string, deptStaff map[string][]string) error {
	cust := pick(rng, custIDs)
	sc := pick(rng, scenarios)
	order := fmt.Sprintf("SO%d%05d", at.Year(), rng.IntN(100000))
	subject, body := sc.subjectZh, sc.bodyZh
	if custLang[cust] == "en" {
		subject, body = sc.subjectEn, sc.bodyEn
	}
	subject, body = strings.ReplaceAll(subject, "{order}", order), strings.ReplaceAll(body, "{order}", order)
	step := at
	clock := func() time.Time { return step }
	ts := *s.Tickets
	ts.Now = clock
	in := ticket.NewTicket{Subject: subject, Customer: ticket.CustomerRef{ID: cust}, Channel: pick(rng, channelsByWeight),
		Category: sc.category, Priority: ticket.Priorities[weighted(rng, []int{2, 6, 2, 1})], DepartmentID: deptIDs[sc.dept],
		Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: body, At: at}}
	if strings.Contains(sc.bodyEn, "{order}") || sc.category == "return_exchange" || sc.category == "logistics" {
		in.OrderNumber = order
	}
	if rng.IntN(6) == 0 {
		in.Tags = []string{pick(rng, []string{"vip", "urgent-followup", "peak-season", "repeat"})}
	}
	t, err := ts.Create(ctx, in)
	if err != nil {
		return err
	}
	age := now.Sub(at)
	staff := deptStaff[sc.dept]
	if len(staff) == 0 || rng.IntN(10) == 0 || age < 2*time.Hour {
		return nil // still new and unassigned
	}
	agent := pick(rng, staff)
	actx := kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: agent, Role: kefu.RoleSupervisor})
	step = at.Add(time.Duration(5+rng.IntN(180)) * time.Minute)
	if t, err = ts.Update(actx, t.ID, 0, ticket.Patch{AssigneeID: &agent}); err != nil {
		return err
	}
	r := pick(rng, replies)
	text := r.zh
	if custLang[cust] == "en" {
		text = r.en
	}
	step = step.Add(time.Duration(1+rng.IntN(60)) * time.Minute)
	if _, _, err = ts.AddMessage(actx, t.ID, ticket.NewMessage{Kind: ticket.Reply, Text: text, At: step}); err != nil {
		return err
	}
	if rng.IntN(3) == 0 {
		step = step.Add(time.Duration(1+rng.IntN(30)) * time.Minute)
		if _, _, err = ts.AddMessage(actx, t.ID, ticket.NewMessage{Kind: ticket.Note, Text: "已联系仓库核实库存 / checked stock with the warehouse", At: step}); err != nil {
			return err
		}
	}
	final := []ticket.Status{ticket.Open, ticket.PendingCustomer, ticket.PendingInternal, ticket.Solved, ticket.Closed}[weighted(rng, []int{3, 2, 1, 3, 4})]
	if age < 3*24*time.Hour && final == ticket.Closed {
		final = ticket.Solved
	}
	if final == ticket.Open {
		return nil
	}
	step = step.Add(time.Duration(1+rng.IntN(48*60)) * time.Minute)
	if step.After(now) {
		step = now
	}
	_, err = ts.Update(actx, t.ID, 0, ticket.Patch{Status: &final})
	return err
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// weighted picks an index with the given relative weights.
func weighted(rng *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := rng.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}
