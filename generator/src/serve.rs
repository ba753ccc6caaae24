//! `generator serve`: the whole system on one local port. The site is built and served
//! from the output folder, the function is mounted at /api with an embedded S3 store,
//! and a change to content or templates rebuilds and reloads the browser. A failed
//! rebuild shows its error over the page and the last good site stays served.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use notify::{RecursiveMode, Watcher};
use tokio::sync::broadcast;
use tower_http::services::{ServeDir, ServeFile};

use crate::{Paths, Site};

#[derive(Clone, Debug)]
enum DevEvent {
    Reload,
    Failed(String),
    Shutdown,
}

struct DevState {
    events: broadcast::Sender<DevEvent>,
    last_error: Mutex<Option<String>>,
}

pub fn run(paths: Paths, addr: &str, data: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    // The port first: a second `serve` in the same clone must fail before it rebuilds
    // the site that the first one is serving.
    let listener = bind(addr)?;
    let mut site = Site::load(paths.clone(), true).map_err(|e| anyhow::anyhow!(e.report()))?;
    let report = site.build(true).map_err(|e| anyhow::anyhow!(e.report()))?;
    println!("Đã dựng {} trang trong {} ms.", report.pages, report.millis);

    let runtime = tokio::runtime::Runtime::new()?;
    let rebuilding = runtime.block_on(async move {
        let (events, _) = broadcast::channel(16);
        let dev = Arc::new(DevState {
            events,
            last_error: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let local = listener.local_addr()?;
        let (api, _store) = crate::dev_api::router(data, &site, &format!("http://{local}")).await?;
        let app = app(&paths.out, api, dev.clone());
        let dev_events = dev.events.clone();
        let rebuilding = watch(site, dev)?;
        println!(
            "Trang web đang chạy tại http://{local}/  (sẵn sàng sau {} ms; nhấn Ctrl+C để dừng)",
            started.elapsed().as_millis()
        );
        println!("Dữ liệu hồ sơ (S3 nhúng) và hộp thư đi: {}", data.display());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // With read timeouts (axum::serve has none); the reload stream is a response,
        // which they do not cut.
        let server = local_http::serve(listener, app, local_http::Timeouts::LOCAL, async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        });
        let mut server = tokio::spawn(server);
        tokio::select! {
            ended = &mut server => { ended?; }
            () = stop_requested() => {
                let _ = stop.send(true);
                // Open pages' reload streams end now, so they do not hold the stop.
                let _ = dev_events.send(DevEvent::Shutdown);
                if tokio::time::timeout(Duration::from_secs(20), server).await.is_err() {
                    eprintln!("Vẫn còn yêu cầu chưa xong sau 20 giây; dừng hẳn.");
                }
            }
        }
        anyhow::Ok(rebuilding)
    })?;
    // A rebuild under way finishes its files before the process ends; requests in
    // flight (a submission writing to the store) were let finish by the graceful stop.
    drop(rebuilding.lock());
    println!("Đã dừng. Trang web và dữ liệu hồ sơ được giữ nguyên.");
    Ok(())
}

/// Opens the port, or says in plain words why not and what to do.
fn bind(addr: &str) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "cổng {addr} đang được một chương trình khác dùng (có thể là một `generator serve` khác đang chạy)"
            ),
            std::io::ErrorKind::PermissionDenied => {
                format!("không được phép mở cổng {addr} (cổng dưới 1024 cần quyền quản trị)")
            }
            _ => format!("không mở được địa chỉ {addr}: {e}"),
        };
        anyhow::anyhow!(
            "{why}\n    → Cách sửa: dừng chương trình đang dùng cổng đó, hoặc chọn cổng khác, ví dụ: generator serve --addr 127.0.0.1:8081"
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Ctrl+C in the terminal, or SIGTERM from a process manager.
async fn stop_requested() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    println!("Đang dừng: chờ các yêu cầu đang xử lý xong…");
}

fn app(out: &Path, api: Router, dev: Arc<DevState>) -> Router {
    let static_files = ServeDir::new(out)
        .append_index_html_on_directories(true)
        .not_found_service(ServeFile::new(out.join("404.html")));
    Router::new()
        .route_service(
            "/api/procedures.json",
            ServeFile::new(out.join("api/procedures.json")),
        )
        .nest_service("/api/forms", ServeDir::new(out.join("api/forms")))
        // The service worker, as CloudFront serves it: checked again on every visit.
        .route_service(
            "/sw.js",
            tower::ServiceExt::<axum::http::Request<axum::body::Body>>::map_response(
                ServeFile::new(out.join("sw.js")),
                |mut r: axum::http::Response<_>| {
                    r.headers_mut().insert(
                        axum::http::header::CACHE_CONTROL,
                        axum::http::HeaderValue::from_static(crate::deploy::NO_CACHE),
                    );
                    r
                },
            ),
        )
        .merge(api)
        .route("/__dev/events", get(events).with_state(dev))
        .route("/__dev/reload.js", get(reload_script))
        .fallback_service(static_files)
        // Like the CDN in production: text compressed, so that page weights are real.
        .layer(tower_http::compression::CompressionLayer::new())
}

async fn reload_script() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        RELOAD_JS,
    )
}

const RELOAD_JS: &str = r#"(function(){var box;var es=new EventSource('/__dev/events');
es.addEventListener('reload',function(){location.reload();});
es.addEventListener('failed',function(e){if(!box){box=document.createElement('pre');box.setAttribute('role','alert');box.style.cssText='position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;margin:0;padding:1rem;background:#7a0010;color:#fff;font:14px/1.4 monospace;white-space:pre-wrap;z-index:99';document.body.appendChild(box);}box.textContent='Lỗi khi dựng lại trang (trang cũ vẫn được phục vụ):\n\n'+e.data;});
es.addEventListener('ok',function(){if(box){box.remove();box=null;}});})();"#;

async fn events(
    axum::extract::State(dev): axum::extract::State<Arc<DevState>>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    use futures_util::StreamExt;
    let current = dev.last_error.lock().expect("lock").clone();
    let first = match current {
        Some(e) => Event::default().event("failed").data(e),
        None => Event::default().event("ok").data(""),
    };
    let rx = tokio_stream::wrappers::BroadcastStream::new(dev.events.subscribe());
    let rest = rx
        .take_while(|e| std::future::ready(!matches!(e, Ok(DevEvent::Shutdown))))
        .filter_map(|e| async move {
            match e.ok()? {
                DevEvent::Reload => Some(Ok(Event::default().event("reload").data(""))),
                DevEvent::Failed(msg) => Some(Ok(Event::default().event("failed").data(msg))),
                DevEvent::Shutdown => None,
            }
        });
    Sse::new(futures_util::stream::once(async { Ok(first) }).chain(rest))
        .keep_alive(KeepAlive::default())
}

/// Watches content/ and templates/ on a thread of its own; rebuilds after a short
/// quiet period so that an editor's save (often several events) rebuilds once.
fn watch(mut site: Site, dev: Arc<DevState>) -> anyhow::Result<Arc<Mutex<()>>> {
    let rebuilding = Arc::new(Mutex::new(()));
    let held = rebuilding.clone();
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            for p in event.paths {
                let _ = tx.send(p);
            }
        }
    })?;
    watcher.watch(&site.paths.content, RecursiveMode::Recursive)?;
    watcher.watch(&site.paths.templates, RecursiveMode::Recursive)?;
    std::thread::spawn(move || {
        let _watcher = watcher;
        while let Ok(first) = rx.recv() {
            let mut changed = vec![first];
            while let Ok(more) = rx.recv_timeout(Duration::from_millis(40)) {
                changed.push(more);
            }
            changed.retain(|p| {
                !p.file_name().is_some_and(|n| {
                    n.to_string_lossy().ends_with('~') || n.to_string_lossy().starts_with('.')
                })
            });
            changed.sort();
            changed.dedup();
            if changed.is_empty() {
                continue;
            }
            let _rebuilding = held.lock();
            let started = Instant::now();
            match site.rebuild(&changed) {
                Ok(files) => {
                    println!(
                        "Đã dựng lại ({} tệp thay đổi) trong {} ms.",
                        files.len(),
                        started.elapsed().as_millis()
                    );
                    *dev.last_error.lock().expect("lock") = None;
                    let _ = dev.events.send(DevEvent::Reload);
                    // Then the function's bundle (generator/src/dev_api.rs reloads it).
                    if let Err(e) = site.write_stale_bundle() {
                        eprintln!("{}", e.report());
                    }
                }
                Err(e) => {
                    let report = e.report();
                    eprintln!("{report}");
                    *dev.last_error.lock().expect("lock") = Some(report.clone());
                    let _ = dev.events.send(DevEvent::Failed(report));
                }
            }
        }
    });
    Ok(rebuilding)
}
