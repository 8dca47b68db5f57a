//! placeholder
use std::net::SocketAddr;
pub struct ServeConfig { pub bind: SocketAddr, pub store: String }
pub async fn serve(_c: ServeConfig) -> crate::Result<()> { Ok(()) }
