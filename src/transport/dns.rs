//! Host names to addresses, in Rust, without libc's resolver.
//!
//! A statically linked glibc cannot resolve names: its `getaddrinfo` loads
//! NSS modules (shared libraries) at run time, and a `FROM scratch` image has
//! none to load. So kerf resolves names itself, as musl and Go do:
//!
//! 1. an IP literal is used as it is;
//! 2. `/etc/hosts`, every address listed for the name, in file order;
//! 3. `localhost` and names under `.localhost` are loopback (RFC 6761), even
//!    without an `/etc/hosts`, and never sent to DNS;
//! 4. DNS: A and AAAA queries over UDP (both at once, from one random port,
//!    each with a random ID, answers checked against the question), over TCP
//!    when a reply is truncated or `options use-vc` asks for it, to the
//!    nameservers of `/etc/resolv.conf` in order (at most three; `127.0.0.1`
//!    when it names none, as glibc does), with its `search`/`domain`,
//!    `ndots`, `timeout` and `attempts`. IPv4 addresses come first: they are
//!    the ones most likely to be reachable from a build container.
//!
//! A dynamically linked kerf asks the system resolver about a name this
//! finds nothing for, so that names only an NSS module knows (mDNS, LDAP,
//! systemd-resolved's `myhostname`) still resolve there.
//!
//! The whole lookup stays within ureq's resolve budget: a nameserver that
//! does not answer in time fails the attempt with a resolve timeout, which
//! the fetcher retries like any other.

use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;

/// glibc's MAXNS: nameservers after the third are ignored.
const MAX_NAMESERVERS: usize = 3;
/// glibc's MAXDNSRCH.
const MAX_SEARCH_DOMAINS: usize = 6;
/// Addresses ureq keeps from a resolver.
const MAX_ADDRESSES: usize = 16;

/// kerf's resolver: see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct HostResolver {
    hosts: PathBuf,
    resolv_conf: PathBuf,
    /// The port nameservers listen on: 53, another one in tests.
    dns_port: u16,
    /// Ask libc about names that neither the hosts file nor DNS know.
    system_fallback: bool,
}

impl HostResolver {
    /// `/etc/hosts` and `/etc/resolv.conf`; with the system resolver behind
    /// them unless kerf is statically linked (where it cannot work).
    pub(crate) fn system() -> HostResolver {
        HostResolver {
            hosts: PathBuf::from("/etc/hosts"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            dns_port: 53,
            system_fallback: !cfg!(target_feature = "crt-static"),
        }
    }

    /// Reads these files instead, asks nameservers on `dns_port`, and never
    /// falls back to the system resolver.
    #[cfg(test)]
    pub(crate) fn with_files(
        hosts: impl Into<PathBuf>,
        resolv_conf: impl Into<PathBuf>,
        dns_port: u16,
    ) -> HostResolver {
        HostResolver {
            hosts: hosts.into(),
            resolv_conf: resolv_conf.into(),
            dns_port,
            system_fallback: false,
        }
    }

    /// The addresses of `host` (a name, or an IP literal with or without
    /// brackets), IPv4 first, or why there are none.
    fn lookup(
        &self,
        host: &str,
        family: IpFamily,
        deadline: Option<Instant>,
    ) -> Result<Vec<IpAddr>, LookupError> {
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Ok(address) = literal.unwrap_or(host).parse::<IpAddr>() {
            let kept = keep_family(vec![address], family);
            return if kept.is_empty() {
                Err(LookupError::NotFound)
            } else {
                Ok(kept)
            };
        }
        let name = host.strip_suffix('.').unwrap_or(host);
        if name.is_empty() {
            return Err(LookupError::NotFound);
        }
        // A missing or unreadable file is an empty one, as for libc.
        let hosts = fs_err::read_to_string(&self.hosts).unwrap_or_default();
        let listed = keep_family(hosts_lookup(&hosts, name), family);
        if !listed.is_empty() {
            return Ok(listed);
        }
        let lower = name.to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            let loopback = vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ];
            return Ok(keep_family(loopback, family));
        }
        let conf =
            ResolvConf::parse(&fs_err::read_to_string(&self.resolv_conf).unwrap_or_default());
        let types: &[u16] = match family {
            IpFamily::Ipv4Only => &[TYPE_A],
            IpFamily::Ipv6Only => &[TYPE_AAAA],
            IpFamily::Any => &[TYPE_A, TYPE_AAAA],
        };
        let servers: Vec<SocketAddr> = conf
            .nameservers
            .iter()
            .map(|&ip| SocketAddr::new(ip, self.dns_port))
            .collect();
        let mut timed_out = false;
        for candidate in conf.candidates(host) {
            match query_name(&conf, &servers, &candidate, types, deadline) {
                Ok(addresses) if !addresses.is_empty() => return Ok(addresses),
                Ok(_) => {}
                Err(LookupError::TimedOut) => timed_out = true,
                Err(LookupError::NotFound) => {}
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(LookupError::TimedOut);
            }
        }
        Err(if timed_out {
            LookupError::TimedOut
        } else {
            LookupError::NotFound
        })
    }
}

impl Resolver for HostResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let bad = || ureq::Error::BadUri(format!("{uri}: no host or port"));
        let (scheme, authority) = uri.scheme().zip(uri.authority()).ok_or_else(bad)?;
        let port = DefaultResolver::host_and_port(scheme, authority)
            .and_then(|host_port| host_port.rsplit_once(':')?.1.parse::<u16>().ok())
            .ok_or_else(bad)?;
        let deadline = (!timeout.after.is_not_happening())
            .then(|| Instant::now().checked_add(*timeout.after))
            .flatten();
        let addresses = match self.lookup(authority.host(), config.ip_family(), deadline) {
            Ok(addresses) => addresses,
            Err(LookupError::NotFound) if self.system_fallback => {
                return DefaultResolver::default().resolve(uri, config, timeout);
            }
            Err(LookupError::NotFound) => return Err(ureq::Error::HostNotFound),
            Err(LookupError::TimedOut) => return Err(ureq::Error::Timeout(timeout.reason)),
        };
        let mut result = self.empty();
        for address in addresses.into_iter().take(MAX_ADDRESSES) {
            result.push(SocketAddr::new(address, port));
        }
        if result.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LookupError {
    /// Every source answered, and none knows the name.
    NotFound,
    /// A nameserver did not answer within the budget.
    TimedOut,
}

fn keep_family(addresses: Vec<IpAddr>, family: IpFamily) -> Vec<IpAddr> {
    addresses
        .into_iter()
        .filter(|address| match family {
            IpFamily::Any => true,
            IpFamily::Ipv4Only => address.is_ipv4(),
            IpFamily::Ipv6Only => address.is_ipv6(),
        })
        .collect()
}

/// Every address `/etc/hosts` (as `text`) gives `name`, case-insensitively,
/// in file order, without repeats.
fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split_once('#').map_or(line, |(data, _)| data);
        let mut fields = line.split_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        // A zone index (`fe80::1%eth0`) cannot be kept in an IpAddr.
        let address = address.split_once('%').map_or(address, |(ip, _)| ip);
        let Ok(address) = address.parse::<IpAddr>() else {
            continue;
        };
        if fields.any(|alias| alias.trim_end_matches('.').eq_ignore_ascii_case(name))
            && !found.contains(&address)
        {
            found.push(address);
        }
    }
    found
}

/// What `/etc/resolv.conf` says, with glibc's defaults and bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResolvConf {
    nameservers: Vec<IpAddr>,
    search: Vec<String>,
    ndots: usize,
    timeout: Duration,
    attempts: u32,
    use_vc: bool,
}

impl ResolvConf {
    fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            use_vc: false,
        };
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let keyword = fields.next().unwrap_or("");
            if keyword.starts_with(['#', ';']) {
                continue;
            }
            match keyword {
                "nameserver" => {
                    let address = fields.next().unwrap_or("");
                    let address = address.split_once('%').map_or(address, |(ip, _)| ip);
                    if let Ok(address) = address.parse() {
                        if conf.nameservers.len() < MAX_NAMESERVERS {
                            conf.nameservers.push(address);
                        }
                    }
                }
                // The last of `domain` and `search` wins, as in glibc.
                "domain" => conf.search = fields.next().map(str::to_owned).into_iter().collect(),
                "search" => {
                    conf.search = fields
                        .take(MAX_SEARCH_DOMAINS)
                        .map(|domain| domain.trim_end_matches('.').to_owned())
                        .filter(|domain| !domain.is_empty())
                        .collect();
                }
                "options" => {
                    for option in fields {
                        let (key, value) = option.split_once(':').unwrap_or((option, ""));
                        let number = value.parse::<u32>().ok();
                        match (key, number) {
                            ("ndots", Some(n)) => conf.ndots = n.min(15) as usize,
                            ("timeout", Some(n)) => {
                                conf.timeout = Duration::from_secs(n.clamp(1, 30).into());
                            }
                            ("attempts", Some(n)) => conf.attempts = n.clamp(1, 5),
                            ("use-vc" | "usevc" | "tcp", _) => conf.use_vc = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if conf.nameservers.is_empty() {
            conf.nameservers.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        conf
    }

    /// The names to ask DNS about for `host`, in order: as given first when
    /// it has at least `ndots` dots, after the search domains otherwise; only
    /// as given when it ends with a dot.
    fn candidates(&self, host: &str) -> Vec<String> {
        if let Some(absolute) = host.strip_suffix('.') {
            return vec![absolute.to_owned()];
        }
        let searched = self.search.iter().map(|domain| format!("{host}.{domain}"));
        if host.matches('.').count() >= self.ndots {
            std::iter::once(host.to_owned()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(host.to_owned())).collect()
        }
    }
}

/// Asks the nameservers about one name, `attempts` rounds over them, until
/// one gives a definite answer (an empty one when the name has no address).
fn query_name(
    conf: &ResolvConf,
    servers: &[SocketAddr],
    name: &str,
    types: &[u16],
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>, LookupError> {
    let questions: Option<Vec<Question>> = types
        .iter()
        .map(|&qtype| Question::new(name, qtype))
        .collect();
    // Not a name DNS can carry (a label over 63 bytes, an empty label, ...).
    let Some(questions) = questions else {
        return Err(LookupError::NotFound);
    };
    let mut timed_out = false;
    for _ in 0..conf.attempts {
        for &server in servers {
            let now = Instant::now();
            let mut until = now + conf.timeout;
            if let Some(deadline) = deadline {
                if now >= deadline {
                    return Err(LookupError::TimedOut);
                }
                until = until.min(deadline);
            }
            let replies = ask(server, &questions, conf.use_vc, until);
            timed_out |= replies.timed_out;
            if let Some(addresses) = replies.conclusion() {
                return Ok(addresses);
            }
        }
    }
    Err(if timed_out {
        LookupError::TimedOut
    } else {
        LookupError::NotFound
    })
}

/// One query, ready to send.
struct Question {
    id: u16,
    name: String,
    qtype: u16,
    packet: Vec<u8>,
}

impl Question {
    fn new(name: &str, qtype: u16) -> Option<Question> {
        let id = random_id();
        let packet = encode_query(id, name, qtype)?;
        Some(Question {
            id,
            name: name.to_owned(),
            qtype,
            packet,
        })
    }
}

/// What a nameserver said to each question (None: nothing usable came).
struct Replies {
    answers: Vec<Option<Answer>>,
    timed_out: bool,
}

impl Replies {
    /// The addresses, when the answers settle the question: some address
    /// came, or every question was answered "no such name" or "no such
    /// record". None sends the question to the next nameserver.
    fn conclusion(&self) -> Option<Vec<IpAddr>> {
        let mut addresses: Vec<IpAddr> = Vec::new();
        let mut settled = true;
        for answer in &self.answers {
            match answer {
                Some(answer) if answer.rcode == RCODE_NOERROR => {
                    addresses.extend(answer.addresses.iter().copied());
                }
                Some(answer) if answer.rcode == RCODE_NXDOMAIN => {}
                _ => settled = false,
            }
        }
        addresses.sort_by_key(IpAddr::is_ipv6);
        addresses.dedup();
        (settled || !addresses.is_empty()).then_some(addresses)
    }
}

/// Sends the questions to `server` and waits for their answers until
/// `until`: over UDP, then over TCP for each truncated answer; over TCP
/// only with `use_vc`.
fn ask(server: SocketAddr, questions: &[Question], use_vc: bool, until: Instant) -> Replies {
    let mut replies = Replies {
        answers: Vec::new(),
        timed_out: false,
    };
    if use_vc {
        replies.answers = vec![None; questions.len()];
    } else {
        match ask_udp(server, questions, until) {
            Ok((answers, timed_out)) => {
                replies.answers = answers;
                replies.timed_out = timed_out;
            }
            Err(error) => {
                replies.answers = vec![None; questions.len()];
                replies.timed_out = is_timeout(&error);
                return replies;
            }
        }
    }
    for (question, answer) in questions.iter().zip(replies.answers.iter_mut()) {
        let over_tcp = use_vc || answer.as_ref().is_some_and(|answer| answer.truncated);
        if !over_tcp {
            continue;
        }
        match ask_tcp(server, question, until) {
            Ok(full) => *answer = Some(full),
            Err(error) => {
                *answer = None;
                replies.timed_out |= is_timeout(&error);
            }
        }
    }
    replies
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// The time left until `until`, or a timeout error when there is none.
fn remaining(until: Instant) -> io::Result<Duration> {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::from(io::ErrorKind::TimedOut));
    }
    Ok(left)
}

/// All questions in one burst from one socket, connected to `server` so
/// that only its datagrams arrive; answers are matched by ID and question.
/// Returns the answers, and whether time ran out before all came.
fn ask_udp(
    server: SocketAddr,
    questions: &[Question],
    until: Instant,
) -> io::Result<(Vec<Option<Answer>>, bool)> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    for question in questions {
        socket.send(&question.packet)?;
    }
    let mut answers: Vec<Option<Answer>> = vec![None; questions.len()];
    let mut buffer = vec![0u8; 65_535];
    while answers.iter().any(Option::is_none) {
        let left = match remaining(until) {
            Ok(left) => left,
            Err(_) => return Ok((answers, true)),
        };
        socket.set_read_timeout(Some(left))?;
        let length = match socket.recv(&mut buffer) {
            Ok(length) => length,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => return Ok((answers, true)),
            Err(error) => return Err(error),
        };
        let datagram = &buffer[..length];
        for (question, answer) in questions.iter().zip(answers.iter_mut()) {
            if answer.is_none() {
                if let Some(parsed) = parse_answer(datagram, question) {
                    *answer = Some(parsed);
                    break;
                }
            }
        }
    }
    Ok((answers, false))
}

/// One question over TCP (RFC 1035 §4.2.2: each message after its length
/// in two bytes).
fn ask_tcp(server: SocketAddr, question: &Question, until: Instant) -> io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&server, remaining(until)?)?;
    stream.set_write_timeout(Some(remaining(until)?))?;
    let length = u16::try_from(question.packet.len()).map_err(io::Error::other)?;
    let mut message = length.to_be_bytes().to_vec();
    message.extend_from_slice(&question.packet);
    stream.write_all(&message)?;
    stream.set_read_timeout(Some(remaining(until)?))?;
    let mut length = [0u8; 2];
    stream.read_exact(&mut length)?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut reply)?;
    parse_answer(&reply, question)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed DNS reply"))
}

/// A random query ID from the OS random source (getrandom(2)): with the
/// random source port it makes answers hard to forge for anyone not on the
/// path. A system without one has bigger problems; the ID is then 0 and the
/// source port alone guards the answer.
fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return 0;
    }
    u16::from_ne_bytes(bytes)
}

/// A standard query with recursion desired (RFC 1035 §4.1), or None when
/// `name` is not a valid DNS name.
fn encode_query(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut packet = Vec::with_capacity(18 + name.len());
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    packet.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    packet.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    let start = packet.len();
    for label in name.split('.') {
        let length = u8::try_from(label.len())
            .ok()
            .filter(|&n| (1..=63).contains(&n))?;
        packet.push(length);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    if packet.len() - start > 255 {
        return None;
    }
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&CLASS_IN.to_be_bytes());
    Some(packet)
}

/// A reply to one question, as far as a stub resolver cares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    rcode: u8,
    truncated: bool,
    /// The records of the question's type in the answer section. As musl
    /// does, every such record counts, whatever its owner: a recursive
    /// server answers with the CNAME chain of the name asked and the
    /// addresses at its end, and nothing else.
    addresses: Vec<IpAddr>,
}

/// The reply in `message`, when it answers `question`: a response with its
/// ID and the same question (names compared case-insensitively). Anything
/// malformed is None, as if it had not come.
fn parse_answer(message: &[u8], question: &Question) -> Option<Answer> {
    let mut reader = MessageReader { message, at: 0 };
    let id = reader.u16()?;
    let flags = reader.u16()?;
    let qdcount = reader.u16()?;
    let ancount = reader.u16()?;
    reader.u16()?; // NSCOUNT
    reader.u16()?; // ARCOUNT
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    if id != question.id || !is_response || opcode != 0 {
        return None;
    }
    let truncated = flags & 0x0200 != 0;
    let rcode = (flags & 0xf) as u8;
    // Some servers leave the question out of error replies; a reply that
    // has one must have ours.
    if qdcount > 1 {
        return None;
    }
    if qdcount == 1 {
        let name = reader.name()?;
        let (qtype, qclass) = (reader.u16()?, reader.u16()?);
        if !name.eq_ignore_ascii_case(&question.name)
            || qtype != question.qtype
            || qclass != CLASS_IN
        {
            return None;
        }
    } else if rcode == RCODE_NOERROR && !truncated {
        return None;
    }
    let mut addresses = Vec::new();
    if !truncated {
        for _ in 0..ancount {
            reader.name()?;
            let (rtype, class) = (reader.u16()?, reader.u16()?);
            reader.u32()?; // TTL
            let length = usize::from(reader.u16()?);
            let data = reader.bytes(length)?;
            if class != CLASS_IN || rtype != question.qtype {
                continue;
            }
            match (rtype, data.len()) {
                (TYPE_A, 4) => {
                    let octets: [u8; 4] = data.try_into().ok()?;
                    addresses.push(IpAddr::from(octets));
                }
                (TYPE_AAAA, 16) => {
                    let octets: [u8; 16] = data.try_into().ok()?;
                    addresses.push(IpAddr::from(octets));
                }
                _ => return None,
            }
        }
    }
    Some(Answer {
        rcode,
        truncated,
        addresses,
    })
}

/// A bounds-checked cursor over a DNS message.
struct MessageReader<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> MessageReader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.message.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.bytes(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }

    /// A domain name, following compression pointers (RFC 1035 §4.1.4),
    /// dotted and without the final dot; the cursor ends after the name as
    /// written here.
    fn name(&mut self) -> Option<String> {
        let mut name = String::new();
        let mut at = self.at;
        let mut resume = None;
        // Each pointer must go backwards, so a loop cannot last; the bound
        // is a second guard.
        let mut jumps = 0;
        loop {
            let length = *self.message.get(at)?;
            match length {
                0 => {
                    at += 1;
                    break;
                }
                1..=63 => {
                    let label = self.message.get(at + 1..at + 1 + usize::from(length))?;
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(&String::from_utf8_lossy(label));
                    at += 1 + usize::from(length);
                    if name.len() > 255 {
                        return None;
                    }
                }
                0xc0..=0xff => {
                    let low = *self.message.get(at + 1)?;
                    let target = usize::from(u16::from_be_bytes([length & 0x3f, low]));
                    if target >= at || jumps > 127 {
                        return None;
                    }
                    jumps += 1;
                    resume.get_or_insert(at + 2);
                    at = target;
                }
                _ => return None,
            }
        }
        self.at = resume.unwrap_or(at);
        Some(name)
    }
}

#[cfg(test)]
mod fake {
    //! A loopback nameserver with scripted answers, on UDP and TCP at the
    //! same port, for tests of anything that resolves names.

    use std::collections::HashMap;
    use std::io::{Read as _, Write as _};
    use std::net::{IpAddr, TcpListener, UdpSocket};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// How the server answers a name.
    #[derive(Debug, Clone)]
    pub(crate) enum Record {
        /// These addresses (only those of the type asked are sent).
        Addresses(Vec<IpAddr>),
        /// A CNAME to this name, then that name's addresses, with
        /// compression pointers as real servers write them.
        Alias(String, Vec<IpAddr>),
        /// Over UDP, an empty reply with the TC bit; the addresses over TCP.
        TruncatedUdp(Vec<IpAddr>),
        /// This response code and nothing else.
        Rcode(u8),
        /// No reply at all.
        Silence,
    }

    #[derive(Default)]
    struct State {
        records: Mutex<HashMap<String, Record>>,
        udp_queries: AtomicUsize,
        tcp_queries: AtomicUsize,
        questions: Mutex<Vec<String>>,
        stop: AtomicBool,
    }

    pub(crate) struct FakeDns {
        port: u16,
        state: Arc<State>,
        threads: Vec<JoinHandle<()>>,
    }

    impl FakeDns {
        /// Names not given are answered NXDOMAIN.
        pub(crate) fn start(records: &[(&str, Record)]) -> FakeDns {
            let state = Arc::new(State::default());
            {
                let mut map = state.records.lock().expect("records lock");
                for (name, record) in records {
                    map.insert(name.to_ascii_lowercase(), record.clone());
                }
            }
            // A TCP port whose UDP twin is free too.
            let (udp, tcp) = loop {
                let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a TCP port");
                let port = tcp.local_addr().expect("address").port();
                if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
                    break (udp, tcp);
                }
            };
            let port = udp.local_addr().expect("address").port();
            udp.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
            tcp.set_nonblocking(true).expect("non-blocking");
            let udp_state = Arc::clone(&state);
            let tcp_state = Arc::clone(&state);
            let threads = vec![
                std::thread::spawn(move || serve_udp(&udp, &udp_state)),
                std::thread::spawn(move || serve_tcp(&tcp, &tcp_state)),
            ];
            FakeDns {
                port,
                state,
                threads,
            }
        }

        pub(crate) fn port(&self) -> u16 {
            self.port
        }

        pub(crate) fn udp_queries(&self) -> usize {
            self.state.udp_queries.load(Ordering::SeqCst)
        }

        pub(crate) fn tcp_queries(&self) -> usize {
            self.state.tcp_queries.load(Ordering::SeqCst)
        }

        /// `name TYPE` of every question received, in order.
        pub(crate) fn questions(&self) -> Vec<String> {
            self.state.questions.lock().expect("questions lock").clone()
        }
    }

    impl Drop for FakeDns {
        fn drop(&mut self) {
            self.state.stop.store(true, Ordering::SeqCst);
            for thread in self.threads.drain(..) {
                let _ = thread.join();
            }
        }
    }

    fn serve_udp(socket: &UdpSocket, state: &State) {
        let mut buffer = [0u8; 512];
        while !state.stop.load(Ordering::SeqCst) {
            let Ok((length, peer)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            state.udp_queries.fetch_add(1, Ordering::SeqCst);
            if let Some(reply) = reply(&buffer[..length], state, false) {
                let _ = socket.send_to(&reply, peer);
            }
        }
    }

    fn serve_tcp(listener: &TcpListener, state: &State) {
        while !state.stop.load(Ordering::SeqCst) {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut length = [0u8; 2];
            if stream.read_exact(&mut length).is_err() {
                continue;
            }
            let mut query = vec![0u8; usize::from(u16::from_be_bytes(length))];
            if stream.read_exact(&mut query).is_err() {
                continue;
            }
            state.tcp_queries.fetch_add(1, Ordering::SeqCst);
            if let Some(reply) = reply(&query, state, true) {
                let mut message = u16::try_from(reply.len())
                    .expect("a small reply")
                    .to_be_bytes()
                    .to_vec();
                message.extend_from_slice(&reply);
                let _ = stream.write_all(&message);
            }
        }
    }

    /// The reply to `query`; the question is copied, so answer names can
    /// point at it (offset 12).
    fn reply(query: &[u8], state: &State, over_tcp: bool) -> Option<Vec<u8>> {
        let (name, end) = read_name(query, 12)?;
        let qtype = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
        let question = query.get(12..end + 4)?;
        state
            .questions
            .lock()
            .expect("questions lock")
            .push(format!("{name} {}", if qtype == 1 { "A" } else { "AAAA" }));
        let record = state
            .records
            .lock()
            .expect("records lock")
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Record::Rcode(3));
        let wanted = |addresses: &[IpAddr]| -> Vec<IpAddr> {
            addresses
                .iter()
                .copied()
                .filter(|a| if qtype == 1 { a.is_ipv4() } else { a.is_ipv6() })
                .collect()
        };
        let (rcode, truncated, cname, addresses) = match record {
            Record::Addresses(addresses) => (0, false, None, wanted(&addresses)),
            Record::Alias(target, addresses) => (0, false, Some(target), wanted(&addresses)),
            Record::TruncatedUdp(addresses) if over_tcp => (0, false, None, wanted(&addresses)),
            Record::TruncatedUdp(_) => (0, true, None, Vec::new()),
            Record::Rcode(rcode) => (rcode, false, None, Vec::new()),
            Record::Silence => return None,
        };
        let mut out = Vec::new();
        out.extend_from_slice(&query[..2]);
        let flags: u16 = 0x8180 | if truncated { 0x0200 } else { 0 } | u16::from(rcode);
        out.extend_from_slice(&flags.to_be_bytes());
        let ancount = u16::try_from(addresses.len() + usize::from(cname.is_some())).ok()?;
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ancount.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(question);
        // Where the owner name of the address records is: the question's,
        // or the CNAME's target once written.
        let mut owner: u16 = 0xc00c;
        if let Some(target) = cname {
            out.extend_from_slice(&0xc00cu16.to_be_bytes());
            out.extend_from_slice(&5u16.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&300u32.to_be_bytes());
            let mut data = Vec::new();
            for label in target.split('.') {
                data.push(u8::try_from(label.len()).ok()?);
                data.extend_from_slice(label.as_bytes());
            }
            data.push(0);
            out.extend_from_slice(&u16::try_from(data.len()).ok()?.to_be_bytes());
            owner = 0xc000 | u16::try_from(out.len()).ok()?;
            out.extend_from_slice(&data);
        }
        for address in addresses {
            out.extend_from_slice(&owner.to_be_bytes());
            out.extend_from_slice(&qtype.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&300u32.to_be_bytes());
            match address {
                IpAddr::V4(v4) => {
                    out.extend_from_slice(&4u16.to_be_bytes());
                    out.extend_from_slice(&v4.octets());
                }
                IpAddr::V6(v6) => {
                    out.extend_from_slice(&16u16.to_be_bytes());
                    out.extend_from_slice(&v6.octets());
                }
            }
        }
        Some(out)
    }

    fn read_name(message: &[u8], mut at: usize) -> Option<(String, usize)> {
        let mut labels = Vec::new();
        loop {
            let length = usize::from(*message.get(at)?);
            if length == 0 {
                return Some((labels.join("."), at + 1));
            }
            labels
                .push(String::from_utf8_lossy(message.get(at + 1..at + 1 + length)?).into_owned());
            at += 1 + length;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{FakeDns, Record};
    use super::*;

    /// A resolver reading a hosts file and a resolv.conf written for the
    /// test, asking `dns` (or a port nobody listens on).
    struct Setup {
        _dir: tempfile::TempDir,
        resolver: HostResolver,
    }

    fn setup_with(hosts: &str, resolv_conf: &str, port: u16) -> Setup {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (hosts_path, conf_path) = (dir.path().join("hosts"), dir.path().join("resolv.conf"));
        fs_err::write(&hosts_path, hosts).expect("write hosts");
        fs_err::write(&conf_path, resolv_conf).expect("write resolv.conf");
        Setup {
            resolver: HostResolver::with_files(hosts_path, conf_path, port),
            _dir: dir,
        }
    }

    fn quick_conf(extra: &str) -> String {
        format!("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n{extra}")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP address")
    }

    fn deadline() -> Option<Instant> {
        Some(Instant::now() + Duration::from_secs(10))
    }

    #[test]
    fn literals_and_localhost_need_neither_file_nor_dns() {
        let dns = FakeDns::start(&[]);
        let setup = setup_with("", &quick_conf(""), dns.port());
        let r = &setup.resolver;
        assert_eq!(
            r.lookup("192.0.2.7", IpFamily::Any, deadline()),
            Ok(vec![ip("192.0.2.7")])
        );
        assert_eq!(
            r.lookup("[2001:db8::1]", IpFamily::Any, deadline()),
            Ok(vec![ip("2001:db8::1")])
        );
        assert_eq!(
            r.lookup("localhost", IpFamily::Any, deadline()),
            Ok(vec![ip("127.0.0.1"), ip("::1")])
        );
        assert_eq!(
            r.lookup("Mirror.LOCALHOST.", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("127.0.0.1")])
        );
        assert_eq!(dns.udp_queries(), 0);
    }

    #[test]
    fn the_hosts_file_comes_first() {
        let dns = FakeDns::start(&[("mirror.test", Record::Addresses(vec![ip("192.0.2.1")]))]);
        let hosts = "# comment\n\
                     127.0.0.1\tlocalhost\n\
                     10.0.0.9  other  MIRROR.test # trailing comment\n\
                     fe80::1%eth0 mirror.test\n\
                     10.0.0.9 mirror.test\n\
                     not-an-address mirror.test\n\
                     127.0.0.2 mine\n";
        let setup = setup_with(hosts, &quick_conf(""), dns.port());
        let r = &setup.resolver;
        assert_eq!(
            r.lookup("mirror.test", IpFamily::Any, deadline()),
            Ok(vec![ip("10.0.0.9"), ip("fe80::1")])
        );
        assert_eq!(
            r.lookup("mirror.test.", IpFamily::Ipv6Only, deadline()),
            Ok(vec![ip("fe80::1")])
        );
        // A hosts file entry for localhost replaces the built-in one.
        assert_eq!(
            r.lookup("localhost", IpFamily::Any, deadline()),
            Ok(vec![ip("127.0.0.1")])
        );
        assert_eq!(dns.udp_queries(), 0);
    }

    #[test]
    fn dns_answers_a_and_aaaa_ipv4_first() {
        let dns = FakeDns::start(&[(
            "archive.test",
            Record::Addresses(vec![ip("2001:db8::5"), ip("192.0.2.5"), ip("192.0.2.6")]),
        )]);
        let setup = setup_with("", &quick_conf(""), dns.port());
        assert_eq!(
            setup
                .resolver
                .lookup("archive.test", IpFamily::Any, deadline()),
            Ok(vec![ip("192.0.2.5"), ip("192.0.2.6"), ip("2001:db8::5")])
        );
        assert_eq!(
            setup
                .resolver
                .lookup("archive.test", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("192.0.2.5"), ip("192.0.2.6")])
        );
        assert_eq!(
            dns.questions(),
            ["archive.test A", "archive.test AAAA", "archive.test A"]
        );
    }

    #[test]
    fn a_cname_chain_with_compressed_names_is_followed() {
        let dns = FakeDns::start(&[(
            "www.archive.test",
            Record::Alias("cdn.example.test".to_owned(), vec![ip("192.0.2.44")]),
        )]);
        let setup = setup_with("", &quick_conf(""), dns.port());
        assert_eq!(
            setup
                .resolver
                .lookup("www.archive.test", IpFamily::Any, deadline()),
            Ok(vec![ip("192.0.2.44")])
        );
    }

    #[test]
    fn search_domains_follow_ndots() {
        let dns = FakeDns::start(&[
            (
                "mirror.corp.test",
                Record::Addresses(vec![ip("192.0.2.10")]),
            ),
            ("a.b", Record::Addresses(vec![ip("192.0.2.11")])),
        ]);
        let conf = quick_conf("search lan.test corp.test\n");
        let setup = setup_with("", &conf, dns.port());
        let r = &setup.resolver;
        // No dot: the search domains first.
        assert_eq!(
            r.lookup("mirror", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("192.0.2.10")])
        );
        // One dot (ndots 1): as given first.
        assert_eq!(
            r.lookup("a.b", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("192.0.2.11")])
        );
        // Absolute: as given only.
        assert_eq!(
            r.lookup("mirror.", IpFamily::Ipv4Only, deadline()),
            Err(LookupError::NotFound)
        );
        assert_eq!(
            dns.questions(),
            [
                "mirror.lan.test A",
                "mirror.corp.test A",
                "a.b A",
                "mirror A"
            ]
        );
    }

    #[test]
    fn a_truncated_reply_is_asked_again_over_tcp() {
        let dns = FakeDns::start(&[("big.test", Record::TruncatedUdp(vec![ip("192.0.2.99")]))]);
        let setup = setup_with("", &quick_conf(""), dns.port());
        assert_eq!(
            setup.resolver.lookup("big.test", IpFamily::Any, deadline()),
            Ok(vec![ip("192.0.2.99")])
        );
        assert_eq!(dns.tcp_queries(), 2, "A and AAAA were both truncated");
        let setup = setup_vc(dns.port());
        assert_eq!(
            setup
                .resolver
                .lookup("big.test", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("192.0.2.99")])
        );
        assert_eq!(dns.tcp_queries(), 3);
        assert_eq!(dns.udp_queries(), 2, "use-vc sends nothing over UDP");
    }

    fn setup_vc(port: u16) -> Setup {
        setup_with("", &quick_conf("options use-vc\n"), port)
    }

    #[test]
    fn unknown_names_and_failing_servers() {
        let dns = FakeDns::start(&[
            ("refused.test", Record::Rcode(5)),
            ("silent.test", Record::Silence),
        ]);
        let setup = setup_with("", &quick_conf(""), dns.port());
        let r = &setup.resolver;
        assert_eq!(
            r.lookup("nowhere.test", IpFamily::Any, deadline()),
            Err(LookupError::NotFound)
        );
        assert_eq!(
            r.lookup("refused.test", IpFamily::Any, deadline()),
            Err(LookupError::NotFound)
        );
        let started = Instant::now();
        assert_eq!(
            r.lookup("silent.test", IpFamily::Any, deadline()),
            Err(LookupError::TimedOut)
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "the resolv.conf timeout (1 s) bounds the wait: {took:?}"
        );
        // The caller's budget bounds it too, before resolv.conf's 5 s × 2 attempts.
        let patient = setup_with("", "nameserver 127.0.0.1\n", dns.port());
        let started = Instant::now();
        let short = Some(Instant::now() + Duration::from_millis(300));
        assert_eq!(
            patient.resolver.lookup("silent.test", IpFamily::Any, short),
            Err(LookupError::TimedOut)
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    #[test]
    fn a_second_nameserver_is_asked_when_the_first_fails() {
        let dns = FakeDns::start(&[("mirror.test", Record::Addresses(vec![ip("192.0.2.3")]))]);
        // 127.0.0.2 listens nowhere: a refusal or a timeout, then the next.
        let conf = "nameserver 127.0.0.2\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
        let setup = setup_with("", conf, dns.port());
        assert_eq!(
            setup
                .resolver
                .lookup("mirror.test", IpFamily::Ipv4Only, deadline()),
            Ok(vec![ip("192.0.2.3")])
        );
    }

    #[test]
    fn resolv_conf_parsing() {
        let conf = ResolvConf::parse(
            "# generated\n; also a comment\n\
             nameserver 10.0.0.1\nnameserver fe80::53%eth0\nnameserver bogus\n\
             nameserver 10.0.0.2\nnameserver 10.0.0.3\n\
             domain old.test\nsearch a.test b.test.\n\
             options ndots:3 timeout:0 attempts:9 rotate use-vc\n",
        );
        assert_eq!(
            conf,
            ResolvConf {
                nameservers: vec![ip("10.0.0.1"), ip("fe80::53"), ip("10.0.0.2")],
                search: vec!["a.test".to_owned(), "b.test".to_owned()],
                ndots: 3,
                timeout: Duration::from_secs(1),
                attempts: 5,
                use_vc: true,
            }
        );
        let empty = ResolvConf::parse("");
        assert_eq!(empty.nameservers, [ip("127.0.0.1")]);
        assert_eq!((empty.ndots, empty.attempts), (1, 2));
        assert_eq!(empty.timeout, Duration::from_secs(5));
        assert_eq!(empty.candidates("x.y"), ["x.y"]);
    }

    #[test]
    fn queries_are_well_formed_and_bad_names_refused() {
        let packet = encode_query(0x1234, "ab.c", TYPE_AAAA).expect("a valid name");
        assert_eq!(
            packet,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, b'a', b'b', 1, b'c', 0, 0, 28,
                0, 1
            ]
        );
        assert!(encode_query(1, "a..b", TYPE_A).is_none());
        assert!(encode_query(1, &"x".repeat(64), TYPE_A).is_none());
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(encode_query(1, &long, TYPE_A).is_none());
    }

    #[test]
    fn replies_that_do_not_match_the_question_are_ignored() {
        let question = Question {
            id: 7,
            name: "a.test".to_owned(),
            qtype: TYPE_A,
            packet: Vec::new(),
        };
        let mut reply = encode_query(7, "A.TEST", TYPE_A).expect("valid");
        reply[2] = 0x81; // QR, RD
        reply[3] = 0x80; // RA
        let parsed = parse_answer(&reply, &question).expect("matches, case aside");
        assert_eq!(parsed.rcode, 0);
        assert!(parsed.addresses.is_empty());
        let mut other_id = reply.clone();
        other_id[1] = 8;
        assert!(parse_answer(&other_id, &question).is_none());
        let mut not_a_response = reply.clone();
        not_a_response[2] = 0x01;
        assert!(parse_answer(&not_a_response, &question).is_none());
        let other_name = {
            let mut r = encode_query(7, "b.test", TYPE_A).expect("valid");
            r[2] = 0x81;
            r
        };
        assert!(parse_answer(&other_name, &question).is_none());
        // A pointer loop, and a record running past the end.
        let mut looping = reply.clone();
        looping[7] = 1; // ANCOUNT 1, with an owner name pointing at itself
        let at = u8::try_from(looping.len()).expect("short");
        looping.extend_from_slice(&[0xc0, at]);
        assert!(parse_answer(&looping, &question).is_none());
        let mut short = reply;
        short[7] = 1;
        short.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10]);
        assert!(parse_answer(&short, &question).is_none());
    }

    #[test]
    fn the_ureq_hook_maps_names_to_socket_addresses() {
        let dns = FakeDns::start(&[]);
        let setup = setup_with("192.0.2.8 mirror.test\n", &quick_conf(""), dns.port());
        let config = Config::default();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(5),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        let resolve = |uri: &str| {
            let uri: Uri = uri.parse().expect("a URI");
            setup
                .resolver
                .resolve(&uri, &config, timeout)
                .map(|addresses| addresses.iter().copied().collect::<Vec<_>>())
        };
        assert_eq!(
            resolve("http://mirror.test/ubuntu/").expect("resolves"),
            [SocketAddr::from(([192, 0, 2, 8], 80))]
        );
        assert_eq!(
            resolve("https://MIRROR.test:8443/").expect("resolves"),
            [SocketAddr::from(([192, 0, 2, 8], 8443))]
        );
        assert_eq!(
            resolve("http://[::1]:3128").expect("resolves"),
            [SocketAddr::from((Ipv6Addr::LOCALHOST, 3128))]
        );
        assert!(matches!(
            resolve("http://unknown.test/"),
            Err(ureq::Error::HostNotFound)
        ));
    }
}
