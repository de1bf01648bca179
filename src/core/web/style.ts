/** The pages' one stylesheet, served as a file (the CSP allows no inline style). Phone first. */
export const STYLE = `:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#5f6368;--bg:#fff;--panel:#f5f6f8;--line:#dde1e6;--accent:#b3261e;--link:#0b57d0;--local:#1e7b34;--cached:#6b5b00}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a0a4a8;--bg:#16181b;--panel:#202328;--line:#33373d;--accent:#f28b82;--link:#8ab4f8;--local:#81c995;--cached:#e6c84f}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--panel)}
header.top .brand{font-weight:700;color:var(--accent);text-decoration:none;font-size:1.15rem}
header.top nav{margin-left:auto;display:flex;align-items:center;gap:.6rem;font-size:.95rem}
header.top form{margin:0}
main{max-width:64rem;margin:0 auto;padding:1rem}
footer{max-width:64rem;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:.85rem}
button,input{font:inherit}
button{padding:.35rem .9rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg);cursor:pointer}
.link-button{border:0;background:none;color:var(--link);padding:0;text-decoration:underline}
form.search{display:flex;gap:.5rem;margin:.5rem 0 1rem}
form.search input{flex:1;min-width:0;padding:.55rem .75rem;border:1px solid var(--line);border-radius:.5rem;background:var(--bg);color:var(--fg)}
.count{color:var(--muted);margin:.2rem 0 .6rem}
ul.packages{list-style:none;margin:0;padding:0}
ul.packages li{padding:.75rem 0;border-bottom:1px solid var(--line)}
ul.packages .name{font-weight:600;font-size:1.05rem;word-break:break-all}
ul.packages p{margin:.2rem 0}
.meta{color:var(--muted);font-size:.85rem}
.badge{display:inline-block;font-size:.72rem;font-weight:600;text-transform:uppercase;letter-spacing:.03em;padding:0 .45rem;border-radius:1rem;border:1px solid currentColor;vertical-align:middle}
.badge.local{color:var(--local)}.badge.cached{color:var(--cached)}.badge.deprecated{color:var(--accent)}
.version{font-family:ui-monospace,monospace;font-size:.9rem;color:var(--muted)}
nav.pager{display:flex;align-items:center;justify-content:space-between;gap:1rem;margin:1rem 0}
.deprecation{border:1px solid var(--accent);color:var(--accent);border-radius:.5rem;padding:.5rem .8rem}
pre{background:var(--panel);padding:.7rem;border-radius:.4rem;overflow-x:auto}
.readme-plain{white-space:pre-wrap;word-break:break-word}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
.package-page h1{margin:.3rem 0;word-break:break-all}
.columns{display:grid;grid-template-columns:1fr;gap:1.5rem}
@media (min-width:52rem){.columns{grid-template-columns:minmax(0,1fr) 20rem}}
aside section{margin-bottom:1.2rem}
aside h2,.install h2{font-size:1rem;margin:.2rem 0 .4rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.readme{min-width:0;overflow-wrap:anywhere}
.readme img{max-width:100%}
.readme table{display:block;overflow-x:auto}
ul.plain{list-style:none;padding:0;margin:0}
ul.deps{columns:2;padding-left:1.1rem;margin:0;font-size:.9rem}
.login{max-width:24rem}
.login label{display:block;margin:.8rem 0 .2rem}
.login input{width:100%;padding:.45rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg)}
.login button{margin-top:1rem}
.error{color:var(--accent)}
`
