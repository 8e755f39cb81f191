(function(){
function key(td){var v=td.getAttribute("data-sort");if(v!==null&&v!==""&&!isNaN(+v))return +v;
return td.textContent.trim().toLowerCase();}
function cmp(x,y){if(typeof x==="number"&&typeof y==="number")return x-y;return String(x).localeCompare(String(y));}
Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
var ths=table.tHead.rows[0].cells;
Array.prototype.forEach.call(ths,function(th,i){
th.tabIndex=0;th.setAttribute("aria-sort","none");
function sort(){var asc=th.getAttribute("aria-sort")!=="ascending";
Array.prototype.forEach.call(ths,function(o){o.setAttribute("aria-sort","none");});
th.setAttribute("aria-sort",asc?"ascending":"descending");
var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
rows=rows.filter(function(r){return !r.classList.contains("detail");});
rows.forEach(function(r){var d=[],n=r.nextElementSibling;while(n&&n.classList.contains("detail")){d.push(n);
n=n.nextElementSibling;}r._details=d;});
rows.sort(function(a,b){var r=cmp(key(a.cells[i]),key(b.cells[i]));return asc?r:-r;});
rows.forEach(function(r){body.appendChild(r);r._details.forEach(function(d){body.appendChild(d);});});
if(table._refresh)table._refresh();}
th.addEventListener("click",sort);
th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});});});
document.documentElement.setAttribute("data-ready","1");
})();
